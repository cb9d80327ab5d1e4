/** The `VirtualMachine` result object of the failover commands (docs/cli-contract.md §2.6). */
import { hostname } from 'node:os';
import type { FailoverRecord } from '../../../failover/index.js';
import type { VmState, VmSummary } from '../../../host/host-adapter.js';
import { assessHealth, emptyStatistics, type ReplicationHealth, type ReplicationRelationship } from '../../../relationship/index.js';

/** Hyper-V's VMState names for the host adapter's states. */
const VM_STATE: Record<VmState, string> = {
  running: 'Running',
  off: 'Off',
  saved: 'Saved',
  paused: 'Paused',
  starting: 'Starting',
  stopping: 'Stopping',
  other: 'Other',
};

/**
 * Health of a record: the relationship's own assessment where `replication enable` made one, else the same
 * rules over the record's fields with empty statistics (a replica host keeps no statistics of its own), so
 * the rules live in one place (src/relationship/health.ts).
 */
export function recordHealth(record: FailoverRecord, relationship: ReplicationRelationship | undefined, now: Date): ReplicationHealth {
  if (relationship) return assessHealth(relationship, now).ReplicationHealth;
  const fields: Pick<ReplicationRelationship, 'VMName' | 'ReplicationMode' | 'ReplicationState' | 'LastReplicationTime' | 'Statistics'> = {
    VMName: record.vmName,
    ReplicationMode: record.mode,
    ReplicationState: record.state,
    LastReplicationTime: record.lastReplicationTime,
    Statistics: emptyStatistics(now),
  };
  // assessHealth reads only the fields above; the others describe the network relationship this host lacks.
  return assessHealth(fields as ReplicationRelationship, now).ReplicationHealth;
}

/** The replicated VM (primary VM, or the replica VM, registered on this host or not yet). */
export function replicatedVmView(record: FailoverRecord, vm: VmSummary | undefined, health: ReplicationHealth): Record<string, unknown> {
  return {
    Name: record.vmName,
    // The VM's id on this host: a same-host replica that failed over has one of its own (record.hostVmId).
    Id: vm?.id ?? record.vmId,
    // A replica that has not failed over exists only as replica storage: Hyper-V shows it Off.
    State: VM_STATE[vm?.state ?? 'off'],
    ReplicationMode: record.mode,
    ReplicationState: record.state,
    ReplicationHealth: health,
    ComputerName: hostname(),
  };
}

/** The test VM of a test failover: Hyper-V gives it mode TestReplica and no replication of its own. */
export function testVmView(vm: Pick<VmSummary, 'id' | 'name' | 'state'>): Record<string, unknown> {
  return {
    Name: vm.name,
    Id: vm.id,
    State: VM_STATE[vm.state],
    ReplicationMode: 'TestReplica',
    ReplicationState: 'Disabled',
    ReplicationHealth: 'NotApplicable',
    ComputerName: hostname(),
  };
}
