/**
 * A primary-side replication relationship as hvreplica persists it, with Hyper-V's property names
 * (docs/cli-contract.md §2.1) so that the stored record, the CLI's JSON and the PowerShell object agree.
 */
export const REPLICATION_STATES = [
  'Disabled',
  'ReadyForInitialReplication',
  'InitialReplicationInProgress',
  'WaitingForInitialReplication',
  'Replicating',
  'PreparedForFailover',
  'FailedOverWaitingCompletion',
  'FailedOver',
  'Suspended',
  'Error',
  'WaitingForStartResynchronize',
  'Resynchronizing',
  'ResynchronizeSuspended',
  'RecoveryInProgress',
  'FailbackInProgress',
  'FailbackComplete',
  'WaitingForUpdateCompletion',
  'UpdateError',
  'WaitingForRepurposeCompletion',
  'PreparedForSyncReplication',
  'PreparedForGroupReverseReplication',
  'FiredrillInProgress',
] as const;
export type ReplicationState = (typeof REPLICATION_STATES)[number];

export type ReplicationMode = 'None' | 'Primary' | 'Replica' | 'TestReplica' | 'ExtendedReplica';
export type ReplicationRelationshipType = 'Simple' | 'Extended';
export type ReplicationHealth = 'NotApplicable' | 'Normal' | 'Warning' | 'Critical';
export type AuthenticationType = 'Kerberos' | 'Certificate';
export type ReplicationType = 'None' | 'Regular' | 'ApplicationConsistent' | 'Planned';

export const REPLICATION_FREQUENCIES = [30, 300, 900] as const;

export interface DiskRef {
  Path: string;
  ControllerType: 'IDE' | 'SCSI' | null;
  ControllerNumber: number | null;
  ControllerLocation: number | null;
}

/** Statistics of the current monitoring interval (Msvm_ReplicationStatistics). */
export interface ReplicationStatistics {
  MonitoringStartTime: string;
  SuccessfulReplicationCount: number;
  MissedReplicationCount: number;
  ReplicationFailureCount: number;
  NetworkFailureCount: number;
  ApplicationConsistentSnapshotFailureCount: number;
  /** Sum of bytes of successful cycles. */
  ReplicationSizeTotal: number;
  /** Bytes the resynchronizations of the interval found different and sent (absent in older records). */
  ResynchronizedBytes?: number;
  MaximumReplicationSize: number;
  /** Sum of seconds of successful cycles. */
  ReplicationLatencyTotal: number;
  MaximumReplicationLatency: number | null;
  /** The last attempt failed (network or storage): the primary cannot send right now. */
  LastAttemptFailed: boolean;
}

export interface ReplicationRelationship {
  VMName: string;
  VMId: string;
  /**
   * hvreplica: 32 hex digits drawn when the relationship is enabled, sent with every request to the replica
   * server (`hvr-relationship-id`), so that a replica server on which the relationship was removed refuses
   * it, and only it, from then on (docs/replication-protocol.md, "Removing a relationship"). Absent in
   * relationships enabled before hvreplica named them; those send no id.
   */
  RelationshipId?: string;
  ReplicationMode: ReplicationMode;
  ReplicationRelationshipType: ReplicationRelationshipType;
  ReplicationState: ReplicationState;
  PrimaryServerName: string;
  ReplicaServerName: string;
  CurrentReplicaServerName: string;
  ReplicaServerPort: number;
  AuthenticationType: AuthenticationType;
  CertificateThumbprint: string | null;
  CompressionEnabled: boolean;
  BypassProxyServer: boolean;
  ReplicateHostKvpItems: boolean;
  ReplicationFrequencySec: number;
  RecoveryHistory: number;
  VSSSnapshotFrequencyHour: number;
  ReplicatedDisks: DiskRef[];
  ExcludedDisks: DiskRef[];
  AutoResynchronizeEnabled: boolean;
  /** Seconds after local midnight. */
  AutoResynchronizeIntervalStart: number;
  AutoResynchronizeIntervalEnd: number;
  InitialReplicationStartTime: string | null;
  /** hvreplica: the scheduled initial replication starts from a copy on the replica (-UseBackup). */
  InitialReplicationUseBackup?: boolean;
  /**
   * hvreplica: the replica server refused this relationship because it was removed there
   * (ERR_REPLICATION_REMOVED): when, and the server's message (what to do). The agent starts no cycle for it
   * (so takes no reference point on the VM) until the administrator removes the relationship here (and
   * enables it again, a new relationship) or resumes it (Resume-VMReplication of a relationship in Error).
   */
  RemovedOnReplica?: { At: string; Message: string };
  /** hvreplica: a resync paused by Suspend-VMReplication (ResynchronizeSuspended) waits for a resume, not its window. */
  ResynchronizePausedByUser?: boolean;
  ResynchronizeStartTime: string | null;
  LastReplicationTime: string | null;
  LastAppliedLogTime: string | null;
  LastReplicationType: ReplicationType;
  FailedOverReplicationType: ReplicationType;
  LastVSSSnapshotTime: string | null;
  LastTestFailoverInitiatedTime: string | null;
  AllowedPrimaryServer: string | null;
  /**
   * Bytes changed on the primary and not yet on the replica (data at risk). Stored as 0: it changes with
   * every guest write, so `replication measure` and the agent's /metrics compute it when asked (pending.ts).
   */
  PendingReplicationSize: number;
  InitialReplicationSize: number;
  Statistics: ReplicationStatistics;
}
