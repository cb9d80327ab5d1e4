/**
 * How a cycle's outcome changes the primary's relationship record: state, last replication time and
 * type, initial replication size, and the statistics Measure-VMReplication reports. Pure functions, so
 * the rules are testable without a replica.
 */
import { recordCycle, rollStatistics, type ReplicationRelationship } from '../relationship/index.js';
import type { ReplicaServerConfig } from '../replica/index.js';
import { TransportError } from '../transport/errors.js';

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

/**
 * A failure that reached the network layer counts as a network failure, anything else as a replication
 * failure. The replica server refusing the relationship as removed there also puts it in Error and marks it
 * (RemovedOnReplica): no cycle is started for it any more until its administrator acts (agent.ts dueForCycle).
 */
export function afterFailure(rel: ReplicationRelationship, error: unknown, now: Date, monitoring: Monitoring): ReplicationRelationship {
  const stats = rollStatistics(rel.Statistics, now, monitoring.MonitoringInterval, monitoring.MonitoringStartTime);
  const networkFault = error instanceof TransportError && (error.code === 'ERR_CONNECTION' || error.retryable);
  const failed = { ...rel, Statistics: recordCycle(stats, { kind: networkFault ? 'network-failure' : 'replication-failure' }) };
  if (!(error instanceof TransportError && error.code === 'ERR_REPLICATION_REMOVED')) return failed;
  return { ...failed, ReplicationState: 'Error', RemovedOnReplica: { At: now.toISOString(), Message: error.message } };
}

export function afterMissed(rel: ReplicationRelationship, now: Date, monitoring: Monitoring): ReplicationRelationship {
  const stats = rollStatistics(rel.Statistics, now, monitoring.MonitoringInterval, monitoring.MonitoringStartTime);
  return { ...rel, Statistics: recordCycle(stats, { kind: 'missed' }) };
}
