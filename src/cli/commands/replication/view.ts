/** VMReplication and VMReplicationHealth objects of the CLI contract (docs/cli-contract.md §2.1, §2.2). */
import { hostname } from 'node:os';
import { assessHealth, type ReplicationRelationship } from '../../../relationship/index.js';

export function replicationView(rel: ReplicationRelationship, now: Date): Record<string, unknown> {
  return {
    VMName: rel.VMName,
    VMId: rel.VMId,
    ComputerName: hostname(),
    ReplicationMode: rel.ReplicationMode,
    ReplicationRelationshipType: rel.ReplicationRelationshipType,
    ReplicationState: rel.ReplicationState,
    ReplicationHealth: assessHealth(rel, now).ReplicationHealth,
    PrimaryServerName: rel.PrimaryServerName,
    ReplicaServerName: rel.ReplicaServerName,
    CurrentReplicaServerName: rel.CurrentReplicaServerName,
    ReplicaServerPort: rel.ReplicaServerPort,
    AuthenticationType: rel.AuthenticationType,
    CertificateThumbprint: rel.CertificateThumbprint,
    CompressionEnabled: rel.CompressionEnabled,
    BypassProxyServer: rel.BypassProxyServer,
    ReplicateHostKvpItems: rel.ReplicateHostKvpItems,
    EnableWriteOrderPreservationAcrossDisks: true,
    ReplicationFrequencySec: rel.ReplicationFrequencySec,
    RecoveryHistory: rel.RecoveryHistory,
    VSSSnapshotFrequencyHour: rel.VSSSnapshotFrequencyHour,
    VSSSnapshotReplicationEnabled: rel.VSSSnapshotFrequencyHour > 0,
    ReplicatedDisks: rel.ReplicatedDisks,
    ExcludedDisks: rel.ExcludedDisks,
    AutoResynchronizeEnabled: rel.AutoResynchronizeEnabled,
    AutoResynchronizeIntervalStart: rel.AutoResynchronizeIntervalStart,
    AutoResynchronizeIntervalEnd: rel.AutoResynchronizeIntervalEnd,
    InitialReplicationStartTime: rel.InitialReplicationStartTime,
    ResynchronizeStartTime: rel.ResynchronizeStartTime,
    LastReplicationTime: rel.LastReplicationTime,
    LastAppliedLogTime: rel.LastAppliedLogTime,
    AllowedPrimaryServer: rel.AllowedPrimaryServer,
    TestVirtualMachine: null,
    // hvreplica only, while it applies: why the relationship is in Error and what to do (no cycle starts meanwhile).
    ...(rel.RemovedOnReplica ? { ReplicationError: `refused by the replica server at ${rel.RemovedOnReplica.At}: ${rel.RemovedOnReplica.Message}` } : {}),
  };
}

/** `extra`: what the relationship alone does not say (a running task, an initial replication's failure). */
export function healthView(rel: ReplicationRelationship, now: Date, extra: { currentTask?: Record<string, unknown>[]; details?: string[] } = {}): Record<string, unknown> {
  const s = rel.Statistics;
  const assessed = assessHealth(rel, now);
  const ReplicationHealth = assessed.ReplicationHealth;
  const ReplicationHealthDetails = [...(extra.details ?? []), ...assessed.ReplicationHealthDetails];
  return {
    VMName: rel.VMName,
    VMId: rel.VMId,
    ComputerName: hostname(),
    ReplicationMode: rel.ReplicationMode,
    ReplicationRelationshipType: rel.ReplicationRelationshipType,
    ReplicationState: rel.ReplicationState,
    ReplicationHealth,
    PrimaryServerName: rel.PrimaryServerName,
    ReplicaServerName: rel.ReplicaServerName,
    CurrentReplicaServerName: rel.CurrentReplicaServerName,
    LastReplicationTime: rel.LastReplicationTime,
    LastAppliedLogTime: rel.LastAppliedLogTime,
    ReplicatedDisks: rel.ReplicatedDisks,
    AllowedPrimaryServer: rel.AllowedPrimaryServer,
    TestVirtualMachine: null,
    MonitoringStartTime: s.MonitoringStartTime,
    MonitoringEndTime: now.toISOString(),
    AverageReplicationSize: s.SuccessfulReplicationCount === 0 ? 0 : Math.round(s.ReplicationSizeTotal / s.SuccessfulReplicationCount),
    MaximumReplicationSize: s.MaximumReplicationSize,
    AverageReplicationLatency: s.SuccessfulReplicationCount === 0 ? null : s.ReplicationLatencyTotal / s.SuccessfulReplicationCount,
    MaximumReplicationLatency: s.MaximumReplicationLatency,
    ReplicationErrors: s.ReplicationFailureCount + s.NetworkFailureCount + s.ApplicationConsistentSnapshotFailureCount,
    SuccessfulReplicationCount: s.SuccessfulReplicationCount,
    MissedReplicationCount: s.MissedReplicationCount,
    ResynchronizedBytes: s.ResynchronizedBytes ?? 0,
    PendingReplicationSize: rel.PendingReplicationSize,
    InitialReplicationSize: rel.InitialReplicationSize,
    LastReplicationType: rel.LastReplicationType,
    FailedOverReplicationType: rel.FailedOverReplicationType,
    LastVSSSnapshotTime: rel.LastVSSSnapshotTime,
    LastTestFailoverInitiatedTime: rel.LastTestFailoverInitiatedTime,
    ReplicationHealthDetails,
    CurrentTask: extra.currentTask ?? [],
  };
}
