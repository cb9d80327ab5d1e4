/**
 * What `replication get|measure` add to a primary relationship from its initial replication's progress
 * file (src/agent/initial-progress.ts): the running copy as CurrentTask (its percentage, bytes sent of
 * the total), and a copy that failed or whose process died as state Error, health Critical, with the
 * reason among the health details, so it never shows as in progress forever.
 */
import { initialReplicationTask, observedProgress, readInitialProgress } from '../../../agent/initial-progress.js';
import type { ReplicationRelationship } from '../../../relationship/index.js';

export interface InitialStatus {
  rel: ReplicationRelationship;
  currentTask: Record<string, unknown>[];
  details: string[];
}

const AFFECTED = new Set(['InitialReplicationInProgress', 'Error']);

export async function withInitialStatus(stateDir: string, rel: ReplicationRelationship): Promise<InitialStatus> {
  const none = { rel, currentTask: [], details: [] };
  if (rel.ReplicationMode !== 'Primary' || rel.ReplicationRelationshipType !== 'Simple' || !AFFECTED.has(rel.ReplicationState)) return none;
  const stored = await readInitialProgress(stateDir, rel.VMId);
  if (!stored) return none;
  const progress = observedProgress(stored);
  if (progress.Status === 'Running') return { ...none, currentTask: initialReplicationTask(progress) };
  if (progress.Status !== 'Failed') return none;
  return {
    rel: { ...rel, ReplicationState: 'Error', Statistics: { ...rel.Statistics, LastAttemptFailed: true } },
    currentTask: [],
    details: [`The initial replication of virtual machine '${rel.VMName}' failed: ${progress.Error ?? 'unknown error'}`],
  };
}
