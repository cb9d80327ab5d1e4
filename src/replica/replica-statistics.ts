/**
 * What a replica server counts per VM it receives, for Measure-VMReplication on the replica (and on an
 * extended replica): each applied cycle is a successful replication of the bytes of log received for it,
 * with the time from its first log's arrival to its application as the latency, over the server's
 * monitoring interval. A file per VM beside the failover records (`<state>/failover/<VMId>.replica-stats.json`),
 * written by the replica server under the VM's storage lock (receiving and applying both hold it).
 *
 * Missed cycles and pending size are the primary's to know (it schedules and tracks changes): here they stay 0.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeGuid } from '../protocol/index.js';
import { emptyStatistics, recordCycle, rollStatistics } from '../relationship/statistics.js';
import type { ReplicationStatistics } from '../relationship/types.js';
import { writeFileAtomic } from '../util/atomic-file.js';

interface Receiving {
  bytes: number;
  /** When the cycle's first log arrived. */
  firstAt: string;
}

export interface ReplicaStatisticsFile {
  Statistics: ReplicationStatistics;
  /** Cycles received and not applied yet, by `<generation>-<sequence>`. */
  Receiving: Record<string, Receiving>;
}

export interface Monitoring {
  MonitoringInterval: number;
  MonitoringStartTime: number;
}

export function replicaStatisticsFile(stateDir: string, vmId: string): string {
  return join(stateDir, 'failover', `${normalizeGuid(vmId, 'VM id')}.replica-stats.json`);
}

async function load(stateDir: string, vmId: string, now: Date): Promise<ReplicaStatisticsFile> {
  try {
    return JSON.parse(await readFile(replicaStatisticsFile(stateDir, vmId), 'utf8')) as ReplicaStatisticsFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { Statistics: emptyStatistics(now), Receiving: {} };
    throw error;
  }
}

function save(stateDir: string, vmId: string, file: ReplicaStatisticsFile): Promise<void> {
  return writeFileAtomic(replicaStatisticsFile(stateDir, vmId), `${JSON.stringify(file, null, 2)}\n`);
}

const key = (generation: number, sequence: number) => `${generation}-${sequence}`;

/** A log of a cycle arrived (bytes as received). */
export async function recordReceived(stateDir: string, vmId: string, cycle: { generation: number; sequence: number }, bytes: number, now: Date): Promise<void> {
  const file = await load(stateDir, vmId, now);
  const k = key(cycle.generation, cycle.sequence);
  const current = file.Receiving[k];
  file.Receiving[k] = { bytes: (current?.bytes ?? 0) + bytes, firstAt: current?.firstAt ?? now.toISOString() };
  await save(stateDir, vmId, file);
}

/** Cycles were applied: each counts as a successful replication in the current monitoring interval. */
export async function recordApplied(stateDir: string, vmId: string, cycles: ReadonlyArray<{ generation: number; sequence: number }>, now: Date, monitoring: Monitoring): Promise<void> {
  if (cycles.length === 0) return;
  const file = await load(stateDir, vmId, now);
  let stats = rollStatistics(file.Statistics, now, monitoring.MonitoringInterval, monitoring.MonitoringStartTime);
  for (const cycle of cycles) {
    const k = key(cycle.generation, cycle.sequence);
    const received = file.Receiving[k];
    delete file.Receiving[k];
    const latencySec = received ? Math.max(0, (now.getTime() - Date.parse(received.firstAt)) / 1000) : 0;
    stats = recordCycle(stats, { kind: 'success', bytes: received?.bytes ?? 0, latencySec });
  }
  await save(stateDir, vmId, { ...file, Statistics: stats });
}

/** The statistics `replication measure` shows for a replica row (empty before anything arrived). */
export async function replicaStatistics(stateDir: string, vmId: string, now: Date, monitoring: Monitoring): Promise<ReplicationStatistics> {
  return rollStatistics((await load(stateDir, vmId, now)).Statistics, now, monitoring.MonitoringInterval, monitoring.MonitoringStartTime);
}

/**
 * Reset-VMReplicationStatistics on a replica: counting starts again now. Cycles received and not applied
 * yet stay (they count once applied). The caller holds the VM's storage lock, as the server does when it counts.
 */
export async function resetReplicaStatistics(stateDir: string, vmId: string, now: Date): Promise<void> {
  const file = await load(stateDir, vmId, now);
  await save(stateDir, vmId, { ...file, Statistics: emptyStatistics(now) });
}
