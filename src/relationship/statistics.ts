/**
 * Replication statistics over the monitoring interval (Measure-VMReplication). Hyper-V aggregates over
 * a server-wide interval (default 12 h) that starts at a time of day (default 09:00 local); when the
 * interval rolls over, counting starts afresh.
 */
import type { ReplicationStatistics } from './types.js';

export function emptyStatistics(now: Date): ReplicationStatistics {
  return {
    MonitoringStartTime: now.toISOString(),
    SuccessfulReplicationCount: 0,
    MissedReplicationCount: 0,
    ReplicationFailureCount: 0,
    NetworkFailureCount: 0,
    ApplicationConsistentSnapshotFailureCount: 0,
    ReplicationSizeTotal: 0,
    ResynchronizedBytes: 0,
    MaximumReplicationSize: 0,
    ReplicationLatencyTotal: 0,
    MaximumReplicationLatency: null,
    LastAttemptFailed: false,
  };
}

/** Start of the monitoring interval that contains `now` (intervals are anchored at the local start time). */
export function monitoringIntervalStart(now: Date, intervalSec: number, startTimeSec: number): Date {
  const anchor = new Date(now.getFullYear(), now.getMonth(), now.getDate(), 0, 0, startTimeSec);
  const intervalMs = intervalSec * 1000;
  const steps = Math.floor((now.getTime() - anchor.getTime()) / intervalMs);
  return new Date(anchor.getTime() + steps * intervalMs);
}

export type CycleOutcome =
  | { kind: 'success'; bytes: number; latencySec: number }
  /** A finished resynchronization: a successful cycle whose differing blocks also count as resynchronized. */
  | { kind: 'resync'; bytes: number; latencySec: number; resynchronizedBytes: number }
  | { kind: 'missed' }
  | { kind: 'network-failure' }
  | { kind: 'replication-failure' }
  | { kind: 'vss-failure' };

/** Starts a new interval when `now` has left the one being counted. */
export function rollStatistics(stats: ReplicationStatistics, now: Date, intervalSec: number, startTimeSec: number): ReplicationStatistics {
  const start = monitoringIntervalStart(now, intervalSec, startTimeSec);
  if (new Date(stats.MonitoringStartTime).getTime() >= start.getTime()) return stats;
  return { ...emptyStatistics(start), LastAttemptFailed: stats.LastAttemptFailed };
}

export function recordCycle(stats: ReplicationStatistics, outcome: CycleOutcome): ReplicationStatistics {
  const next = { ...stats };
  switch (outcome.kind) {
    case 'resync':
    case 'success':
      // Hyper-V's "Resynchronized Bytes" counter: what a resync's block comparison found different and sent.
      if (outcome.kind === 'resync') next.ResynchronizedBytes = (next.ResynchronizedBytes ?? 0) + outcome.resynchronizedBytes;
      next.SuccessfulReplicationCount += 1;
      next.ReplicationSizeTotal += outcome.bytes;
      next.MaximumReplicationSize = Math.max(next.MaximumReplicationSize, outcome.bytes);
      next.ReplicationLatencyTotal += outcome.latencySec;
      next.MaximumReplicationLatency = Math.max(next.MaximumReplicationLatency ?? 0, outcome.latencySec);
      next.LastAttemptFailed = false;
      break;
    case 'missed':
      next.MissedReplicationCount += 1;
      break;
    case 'network-failure':
      next.NetworkFailureCount += 1;
      next.LastAttemptFailed = true;
      break;
    case 'replication-failure':
      next.ReplicationFailureCount += 1;
      next.LastAttemptFailed = true;
      break;
    case 'vss-failure':
      next.ApplicationConsistentSnapshotFailureCount += 1;
      break;
  }
  return next;
}
