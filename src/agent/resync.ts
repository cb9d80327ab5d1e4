/**
 * Resynchronisation (hyperv-replica.md §5.4, Resume-VMReplication -Resynchronize): when change tracking
 * lost its place (the tracker's ERR_RESYNC_REQUIRED) or the replica refuses a cycle as out of sequence,
 * the relationship needs a resync. Hyper-V's rules decide when it runs:
 *   - AutoResynchronizeEnabled off → WaitingForStartResynchronize ("Resynchronization required", Critical)
 *     until `hvreplica replication resume --resynchronize`;
 *   - on, inside the window AutoResynchronizeIntervalStart–End (local time) → at once;
 *   - on, outside the window → ResynchronizeSuspended; the agent starts it when the window opens.
 * Unlike Hyper-V, a resync here keeps the recovery points: it is the next cycle of the replica's current
 * generation, sending only the blocks whose hashes differ (src/agent/hash-sync.ts). Resynchronizing →
 * Replicating. An interrupted resync stays Resynchronizing and the next attempt (replicate, the agent,
 * resume) continues it; the replica never holds half of one. Suspend-VMReplication during a resync stops
 * it (ResynchronizeSuspended, ResynchronizePausedByUser): neither its window nor the agent restarts it
 * until a resume makes it Resynchronizing again.
 */
import { withCycleLock } from './cycle-lock.js';
import { AgentError } from './errors.js';
import type { HashSyncVmResult } from './hash-sync.js';
import { hashSyncRelationship, hashSyncReport } from './hash-sync-cycle.js';
import { cycleLockFile } from './paths.js';
import { afterFailure } from './relationship-updates.js';
import { needsResync, RESYNC_STATES } from './resync-states.js';
import { credentialOf, endpointOf, joinSignals, requireRelationship, type CycleReport, type ReplicateOptions } from './replicate-vm.js';
import { logger } from '../logging/logger.js';
import { recordCycle, RelationshipStore, rollStatistics, type ReplicationRelationship, type ReplicationState } from '../relationship/index.js';
import { ReplicaConfigStore } from '../replica/config-store.js';

const log = logger('resync');

// Re-exported: callers of the resync find them here too (resync-states.ts says why they live apart).
export { needsResync, RESYNC_STATES };

function secondsOfDay(now: Date): number {
  return now.getHours() * 3600 + now.getMinutes() * 60 + now.getSeconds();
}

/**
 * Whether `now` (local time) lies in the auto-resync window. A window whose end is before its start spans
 * midnight (Hyper-V's default 18:30–06:00); both ends count, so 00:00–23:59 is "any time".
 */
export function inAutoResyncWindow(rel: Pick<ReplicationRelationship, 'AutoResynchronizeIntervalStart' | 'AutoResynchronizeIntervalEnd'>, now: Date): boolean {
  const t = secondsOfDay(now);
  const start = rel.AutoResynchronizeIntervalStart;
  const end = rel.AutoResynchronizeIntervalEnd;
  return start <= end ? t >= start && t <= end : t >= start || t <= end;
}

/** Whether a resync may start by itself now: automatic and in its window, or scheduled and due. */
export function resyncDue(rel: ReplicationRelationship, now: Date): boolean {
  if (rel.ResynchronizePausedByUser) return false;
  if (rel.ResynchronizeStartTime !== null) return Date.parse(rel.ResynchronizeStartTime) <= now.getTime();
  if (rel.ReplicationState === 'Resynchronizing') return true;
  return rel.AutoResynchronizeEnabled && inAutoResyncWindow(rel, now);
}

/** The state a relationship that needs a resync waits in when the resync cannot start now. */
export function waitingState(rel: ReplicationRelationship): ReplicationState {
  return rel.AutoResynchronizeEnabled ? 'ResynchronizeSuspended' : 'WaitingForStartResynchronize';
}

function hhmm(seconds: number): string {
  return `${String(Math.floor(seconds / 3600)).padStart(2, '0')}:${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}`;
}

function requiredError(rel: ReplicationRelationship, state: ReplicationState): AgentError {
  const why =
    state === 'ResynchronizeSuspended'
      ? `it starts by itself in the auto-resynchronize window ${hhmm(rel.AutoResynchronizeIntervalStart)}–${hhmm(rel.AutoResynchronizeIntervalEnd)}, or now with`
      : 'start it with';
  return new AgentError('ERR_RESYNC_REQUIRED', `VM '${rel.VMName}' needs resynchronization (${state}); ${why} "hvreplica replication resume --vm-name ${rel.VMName} --resynchronize"`);
}

export interface ResyncOptions extends ReplicateOptions {
  /** Run now whatever the window says (resume --resynchronize). */
  force?: boolean;
  /** Preferred block size of the comparison (default 64 KiB, hash-sync.ts HASH_SYNC_BLOCK_SIZE). */
  blockSize?: number;
}

/**
 * After a cycle failed with `error` calling for a resync (the caller holds the VM's cycle lock): records
 * that a resync is required and runs it now when its rules allow, else throws ERR_RESYNC_REQUIRED.
 */
export async function resyncAfterFailure(options: ResyncOptions, vmId: string, error: unknown): Promise<CycleReport> {
  const clock = options.clock ?? (() => new Date());
  const store = new RelationshipStore(options.stateDir);
  const rel = await store.update(vmId, (current) => {
    if (!current) return { next: current, result: current };
    const now = clock();
    const next: ReplicationRelationship = { ...current, ReplicationState: current.AutoResynchronizeEnabled && inAutoResyncWindow(current, now) ? 'Resynchronizing' : waitingState(current) };
    return { next, result: next };
  });
  if (!rel) throw error;
  log.warn('resynchronization required', { vm: rel.VMName, state: rel.ReplicationState, reason: (error as Error).message });
  if (rel.ReplicationState !== 'Resynchronizing') throw requiredError(rel, rel.ReplicationState);
  return resyncLocked(options, vmId);
}

/**
 * `replicate` or the agent found the relationship in a resync state (the caller holds the cycle lock):
 * continues an interrupted resync or starts a due one; otherwise refuses with ERR_RESYNC_REQUIRED.
 */
export async function resyncIfDue(options: ResyncOptions, rel: ReplicationRelationship): Promise<CycleReport> {
  const now = (options.clock ?? (() => new Date()))();
  if (!options.force && rel.ResynchronizePausedByUser) {
    throw new AgentError('ERR_INVALID_STATE', `the resynchronization of '${rel.VMName}' is suspended; continue it with "hvreplica replication resume --vm-name ${rel.VMName}"`);
  }
  if (!options.force && !resyncDue(rel, now)) {
    // Automatic resync configured but outside its window: Hyper-V shows the resync as suspended.
    const state = rel.ReplicationState === 'Resynchronizing' ? rel.ReplicationState : waitingState(rel);
    if (state !== rel.ReplicationState) await new RelationshipStore(options.stateDir).update(rel.VMId, (current) => ({ next: current && { ...current, ReplicationState: state }, result: undefined }));
    throw requiredError(rel, state);
  }
  return resyncLocked(options, rel.VMId);
}

/** resume --resynchronize: runs the resync of one VM now, taking its cycle lock. */
export async function resynchronizeVm(options: ResyncOptions): Promise<CycleReport> {
  const vm = await options.host.getVm(options.vm);
  const rel = await requireRelationship(options.stateDir, vm.id, vm.name);
  const allowed: ReadonlySet<ReplicationState> = new Set<ReplicationState>(['Suspended', 'Error', 'Replicating', ...RESYNC_STATES]);
  if (!allowed.has(rel.ReplicationState)) {
    throw new AgentError('ERR_INVALID_STATE', `replication of '${vm.name}' cannot be resynchronized in state ${rel.ReplicationState}; it needs a completed initial replication`);
  }
  return withCycleLock(cycleLockFile(options.stateDir, vm.id), vm.name, (cancelled) => resyncLocked({ ...options, force: true, signal: joinSignals(options.signal, cancelled) }, vm.id));
}

/** The resync itself, under the cycle lock: Resynchronizing → hash comparison → Replicating. */
async function resyncLocked(options: ResyncOptions, vmId: string): Promise<CycleReport> {
  const { stateDir } = options;
  const clock = options.clock ?? (() => new Date());
  const store = new RelationshipStore(stateDir);
  const monitoring = await new ReplicaConfigStore(stateDir).load();
  const rel = await store.update(vmId, (current) => {
    const next = current && { ...current, ReplicationState: 'Resynchronizing' as const, ResynchronizeStartTime: null, ResynchronizePausedByUser: false };
    return { next, result: next };
  });
  if (!rel) throw new AgentError('ERR_REPLICATION_NOT_ENABLED', `VM ${vmId} is not enabled for replication`);
  const start = clock();
  log.info('resynchronization started', { vm: rel.VMName });
  let result: HashSyncVmResult;
  try {
    result = await hashSyncRelationship(options, vmId, rel, { endpoint: endpointOf(rel), credential: await credentialOf(stateDir, rel) });
  } catch (error) {
    // Stays Resynchronizing (or ResynchronizeSuspended, if a suspend stopped it): the next attempt
    // compares again and sends what still differs. A stop on purpose is not counted as a failure.
    if (options.signal?.aborted) throw error;
    await store.update(vmId, (current) => ({ next: current && afterFailure(current, error, clock(), monitoring), result: undefined }));
    throw error;
  }
  const end = clock();
  const latencySec = (end.getTime() - start.getTime()) / 1000;
  await store.update(vmId, (current) => ({ next: current && afterResync(current, result, latencySec, end, monitoring), result: undefined }));
  log.info('resynchronization done', { vm: rel.VMName, comparedBytes: result.comparedBytes, changedBytes: result.changedBytes, logBytes: result.logBytes, latencySec });
  return hashSyncReport('resync', result, start, end);
}

/** A finished resync: Replicating again, counted as a successful cycle and as resynchronized bytes. */
export function afterResync(
  rel: ReplicationRelationship,
  result: Pick<HashSyncVmResult, 'logBytes' | 'changedBytes'>,
  latencySec: number,
  now: Date,
  monitoring: { MonitoringInterval: number; MonitoringStartTime: number },
): ReplicationRelationship {
  const stats = rollStatistics(rel.Statistics, now, monitoring.MonitoringInterval, monitoring.MonitoringStartTime);
  return {
    ...rel,
    ReplicationState: 'Replicating',
    ResynchronizeStartTime: null,
    LastReplicationTime: now.toISOString(),
    LastReplicationType: 'Regular',
    PendingReplicationSize: 0,
    Statistics: recordCycle(stats, { kind: 'resync', bytes: result.logBytes, latencySec, resynchronizedBytes: result.changedBytes }),
  };
}
