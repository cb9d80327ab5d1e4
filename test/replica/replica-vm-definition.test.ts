import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeReplicaVmDefinition, MAX_REPLICA_VM_BYTES, parseReplicaVmDefinition } from '../../src/protocol/index.js';
import { dueForCycle } from '../../src/agent/agent.js';
import { afterFailure, afterMissed, afterSuccess } from '../../src/agent/relationship-updates.js';
import { TransportError } from '../../src/transport/errors.js';
import { describeProgress } from '../../src/cli/progress.js';
import { assessHealth, emptyStatistics, type ReplicationRelationship } from '../../src/relationship/index.js';

const VALID = {
  FormatVersion: 1,
  VMId: '0D2C0000-1111-4222-8333-444455556666',
  VMName: 'web01',
  Disks: [{ DiskId: '{AAAAAAAA-1111-4222-8333-444455556666}', VirtualSize: 1 << 26, LogicalSectorSize: 512 }],
  RecoveryHistory: 4,
  VSSSnapshotFrequencyHour: 0,
  ReplicationFrequencySec: 300,
  Configuration: { processorCount: 2 },
};

describe('replica VM definition (the initial replication message)', () => {
  it('normalises GUIDs and keeps the configuration', () => {
    const parsed = parseReplicaVmDefinition(VALID);
    assert.equal(parsed.VMId, '0d2c0000-1111-4222-8333-444455556666');
    assert.equal(parsed.Disks[0]!.DiskId, 'aaaaaaaa-1111-4222-8333-444455556666');
    assert.deepEqual(parsed.Configuration, { processorCount: 2 });
    assert.deepEqual(decodeReplicaVmDefinition(Buffer.from(JSON.stringify(VALID))), parsed);
  });

  it('refuses malformed definitions with a message naming the field', () => {
    const bad: Array<[unknown, RegExp]> = [
      [[], /JSON object/],
      [{ ...VALID, FormatVersion: 2 }, /FormatVersion 2 is not supported/],
      [{ ...VALID, VMId: 'x' }, /VMId "x" is not a GUID/],
      [{ ...VALID, Disks: [] }, /Disks must list 1 to 256/],
      [{ ...VALID, Disks: [{ ...VALID.Disks[0], LogicalSectorSize: 1024 }] }, /LogicalSectorSize must be 512 or 4096/],
      [{ ...VALID, Disks: [{ ...VALID.Disks[0], VirtualSize: -1 }] }, /VirtualSize must be an integer/],
      [{ ...VALID, Disks: [VALID.Disks[0], VALID.Disks[0]] }, /unique/],
      [{ ...VALID, RecoveryHistory: 1.5 }, /RecoveryHistory/],
      [{ ...VALID, Configuration: null }, /Configuration must be an object/],
    ];
    for (const [value, message] of bad) assert.throws(() => parseReplicaVmDefinition(value), (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT' && message.test(e.message), message.source);
    assert.throws(() => decodeReplicaVmDefinition(Buffer.from('{')), /not JSON/);
    assert.throws(() => decodeReplicaVmDefinition(Buffer.alloc(MAX_REPLICA_VM_BYTES + 1, 32)), /more than the/);
  });
});

describe('what a cycle does to the relationship record', () => {
  const now = new Date('2026-11-25T12:00:00Z');
  const monitoring = { MonitoringInterval: 43200, MonitoringStartTime: 0 };
  const rel = {
    VMName: 'web01',
    ReplicationState: 'InitialReplicationInProgress',
    InitialReplicationStartTime: '2026-11-25T11:00:00.000Z',
    Statistics: emptyStatistics(now),
  } as unknown as ReplicationRelationship;

  it('success: Replicating, times, sizes and statistics', () => {
    const next = afterSuccess(rel, { kind: 'initial', consistency: 'crash', logBytes: 1000, latencySec: 2 }, now, monitoring);
    assert.equal(next.ReplicationState, 'Replicating');
    assert.equal(next.LastReplicationTime, now.toISOString());
    assert.equal(next.LastReplicationType, 'Regular');
    assert.equal(next.InitialReplicationSize, 1000);
    assert.equal(next.InitialReplicationStartTime, null);
    assert.deepEqual([next.Statistics.SuccessfulReplicationCount, next.Statistics.ReplicationSizeTotal, next.Statistics.MaximumReplicationLatency], [1, 1000, 2]);
    const failed = afterFailure(next, new TransportError('ERR_CONNECTION', 'connection refused', true), now, monitoring);
    assert.deepEqual([failed.Statistics.NetworkFailureCount, failed.Statistics.LastAttemptFailed], [1, true]);
    assert.equal(afterMissed(next, now, monitoring).Statistics.MissedReplicationCount, 1);
  });

  it('the agent sends in sending states only, and an initial replication once its start time came', () => {
    const at = (state: string, start: string | null = null) => ({ ...rel, ReplicationState: state, InitialReplicationStartTime: start }) as ReplicationRelationship;
    assert.equal(dueForCycle(at('Replicating'), now), true);
    assert.equal(dueForCycle(at('Suspended'), now), false);
    assert.equal(dueForCycle(at('ReadyForInitialReplication'), now), false, 'waits for "initial start"');
    assert.equal(dueForCycle(at('ReadyForInitialReplication', '2026-11-25T13:00:00Z'), now), false);
    assert.equal(dueForCycle(at('ReadyForInitialReplication', '2026-11-25T11:59:00Z'), now), true);
  });

  it('refused as removed on the replica: Error, and the agent starts no cycle for it whatever its state says', () => {
    const refused = new TransportError('ERR_REPLICATION_REMOVED', "replication of VM 'web01' was removed on replica server r1 at 2026-11-25T11:00:00.000Z; ... remove the relationship too", false);
    const failed = afterFailure({ ...rel, ReplicationState: 'Replicating' } as ReplicationRelationship, refused, now, monitoring);
    assert.equal(failed.ReplicationState, 'Error');
    assert.deepEqual(failed.RemovedOnReplica, { At: now.toISOString(), Message: refused.message });
    assert.equal(failed.Statistics.ReplicationFailureCount, 1);
    // Error is otherwise retried (a failed initial copy, a failed resync): not this one.
    assert.equal(dueForCycle({ ...failed, RemovedOnReplica: undefined } as ReplicationRelationship, now), true);
    assert.equal(dueForCycle(failed, now), false);
    for (const state of ['Replicating', 'Resynchronizing', 'InitialReplicationInProgress'] as const) assert.equal(dueForCycle({ ...failed, ReplicationState: state }, now), false, state);
    const health = assessHealth(failed, now);
    assert.equal(health.ReplicationHealth, 'Critical');
    assert.match(health.ReplicationHealthDetails[0]!, /refused by the replica server at .*nothing is sent until you act: replication of VM 'web01' was removed/);
    // Other failures leave no such mark.
    assert.equal(afterFailure(failed, new TransportError('ERR_CONNECTION', 'refused', true), now, monitoring).RemovedOnReplica, failed.RemovedOnReplica);
    assert.equal(afterFailure(rel, new Error('disk full'), now, monitoring).RemovedOnReplica, undefined);
  });

  it('progress text: rate and ETA from bytes and elapsed time', () => {
    assert.deepEqual(describeProgress({ phase: 'upload', bytes: 25 * 1024 * 1024, total: 100 * 1024 * 1024 }, 5), {
      text: 'sending 25.0 MiB of 100.0 MiB at 5.0 MiB/s, ETA 15s',
      fraction: 0.25,
    });
    assert.equal(describeProgress({ phase: 'spool', bytes: 2048, total: undefined }, 0).text, 'reading disks 2.0 KiB at 0 B/s');
  });
});
