/** The `VMSnapshot` result object of a recovery point (docs/cli-contract.md §2.5). */
import { hostname } from 'node:os';
import type { FailoverRecord } from '../../../failover/index.js';
import type { RecoveryPoint } from '../../../storage/replica-storage.js';

export const SNAPSHOT_TYPES = ['Replica', 'AppConsistentReplica', 'SyncedReplica'] as const;
export type SnapshotType = (typeof SNAPSHOT_TYPES)[number];

/**
 * Hyper-V's types: application-consistent points are AppConsistentReplica, the others (crash-consistent)
 * Replica. SyncedReplica belongs to synchronous replication, which hvreplica does not do: no point has it.
 */
export function snapshotType(point: RecoveryPoint): SnapshotType {
  return point.consistency === 'application' ? 'AppConsistentReplica' : 'Replica';
}

export function snapshotView(record: FailoverRecord, point: RecoveryPoint): Record<string, unknown> {
  const type = snapshotType(point);
  // Hyper-V's naming: "<VM> - Standard Replica - (<time>)" / "… - Application-consistent Replica - …".
  const kind = type === 'AppConsistentReplica' ? 'Application-consistent Replica' : 'Standard Replica';
  return {
    VMName: record.vmName,
    VMId: record.vmId,
    Id: point.id,
    Name: `${record.vmName} - ${kind} - (${point.createdAt})`,
    SnapshotType: type,
    CreationTime: new Date(point.createdAt).toISOString(),
    ComputerName: hostname(),
  };
}
