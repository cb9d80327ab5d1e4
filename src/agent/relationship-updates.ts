/**
 * How a cycle's outcome changes the primary's relationship record: state, last replication time and
 * type, initial replication size, and the statistics Measure-VMReplication reports. Pure functions, so
 * the rules are testable without a replica.
 */
import { recordCycle, rollStatistics, type ReplicationRelationship } from '../relationship/index.js';
import type { ReplicaServerConfig } from '../replica/index.js';

export interface CycleSuccess {
  kind: 'initial' | 'delta';
  consistency: 'crash' | 'application';
  logBytes: number;
  latencySec: number;
}

type Monitoring = Pick<ReplicaServerConfig, 'MonitoringInterval' | 'MonitoringStartTime'>;

export function afterSuccess(rel: ReplicationRelationship, cycle: CycleSuccess, now: Date, monitoring: Monitoring): ReplicationRelationship {
  const stats = rollStatistics(rel.Statistics, now, monitoring.MonitoringInterval, monitoring.MonitoringStartTime);
  return {
    ...rel,
    ReplicationState: 'Replicating',
    LastReplicationTime: now.toISOString(),
    LastReplicationType: cycle.consistency === 'application' ? 'ApplicationConsistent' : 'Regular',
    ...(cycle.consistency === 'application' ? { LastVSSSnapshotTime: now.toISOString() } : {}),
    ...(cycle.kind === 'initial' ? { InitialReplicationSize: cycle.logBytes, InitialReplicationStartTime: null, InitialReplicationUseBackup: false } : {}),
    PendingReplicationSize: 0,
    Statistics: recordCycle(stats, { kind: 'success', bytes: cycle.logBytes, latencySec: cycle.latencySec }),
  };
}

/** A failure that reached the network layer counts as a network failure, anything else as a replication failure. */
export function afterFailure(rel: ReplicationRelationship, networkFault: boolean, now: Date, monitoring: Monitoring): ReplicationRelationship {
  const stats = rollStatistics(rel.Statistics, now, monitoring.MonitoringInterval, monitoring.MonitoringStartTime);
  return { ...rel, Statistics: recordCycle(stats, { kind: networkFault ? 'network-failure' : 'replication-failure' }) };
}

export function afterMissed(rel: ReplicationRelationship, now: Date, monitoring: Monitoring): ReplicationRelationship {
  const stats = rollStatistics(rel.Statistics, now, monitoring.MonitoringInterval, monitoring.MonitoringStartTime);
  return { ...rel, Statistics: recordCycle(stats, { kind: 'missed' }) };
}
