/**
 * `recovery-point list` and an unplanned failover through the real CLI on a replica's state directory
 * prepared with the library: refusals in wrong states, failover to a named point, cancel, failover to the
 * latest point, complete. The failed-over VM's disks are compared by hash with the primary's at each point.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { enableReplication } from '../../src/failover/replication.js';
import { guestWrites, newVm, vmContent, world } from '../failover/helpers.js';
import { assertShape, ok, refused, replicatedPoint } from './helpers.js';

it('recovery-point list, then failover start to a point, stop, start to latest, complete', async () => {
  const w = world('fcli-unplanned');
  try {
    const { a, b } = w;
    const vm = await newVm(a, 'web01');
    await enableReplication(a, b, vm, { recoveryHistory: 4, replicationFrequencySec: 30 });
    const { content: atPoint1, point: point1 } = await replicatedPoint(a, b, vm, 21);
    const { content: atPoint2, point: point2 } = await replicatedPoint(a, b, vm, 22);

    // Recovery points: oldest first, VMSnapshot shape, filter by type.
    const points = ok(b, 'recovery-point', 'list', '--vm-name=WEB01');
    assert.deepEqual(points.map((p) => p.Id), [point1, point2]);
    for (const p of points) {
      assertShape(p, 'vm-snapshot.json');
      assert.equal(p.VMName, 'web01');
      assert.equal(p.VMId, vm);
      assert.equal(p.SnapshotType, 'Replica');
      assert.match(String(p.CreationTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    assert.deepEqual(ok(b, 'recovery-point', 'list', '--vm-name=web01', '--snapshot-type=AppConsistentReplica'), []);
    assert.equal(ok(b, 'recovery-point', 'list', '--vm-name=web*', '--snapshot-type=Replica').length, 2);
    assert.deepEqual(ok(a, 'recovery-point', 'list', '--vm-name=web01'), [], 'a primary keeps no recovery points');
    assert.deepEqual(ok(b, 'recovery-point', 'list', '--vm-name=nomatch*'), []);
    refused(b, 3, 'ERR_NOT_FOUND', 'recovery-point', 'list', '--vm-name=nosuchvm');

    // Wrong host, wrong state, unknown points.
    assert.match(refused(a, 4, 'ERR_INVALID_STATE', 'failover', 'start', '--vm-name=web01'), /Primary here/);
    assert.match(refused(b, 4, 'ERR_INVALID_STATE', 'failover', 'complete', '--vm-name=web01'), /FailedOverWaitingCompletion/);
    assert.match(refused(b, 4, 'ERR_INVALID_STATE', 'failover', 'stop', '--vm-name=web01'), /nothing to stop/);
    refused(b, 3, 'ERR_NOT_FOUND', 'failover', 'start', '--vm-name=web01', '--recovery-point=00000000-0000-4000-8000-000000000000');
    assert.match(refused(b, 3, 'ERR_NOT_FOUND', 'failover', 'start', '--vm-name=web01', '--recovery-point=application-consistent'), /no application-consistent/);
    // Split-brain guard when the primary's state is on this machine: its VM still runs.
    assert.match(refused(b, 4, 'ERR_INVALID_STATE', 'failover', 'start', '--vm-name=web01', `--peer-state-dir=${a.options.stateDir}`), /still running on primary/);
    assert.equal(ok(b, 'recovery-point', 'list', '--vm-name=web01').length, 2, 'refused failovers left the points alone');

    // The primary fails with changes the replica never got.
    await guestWrites(a, vm, 23);
    await a.host.stopVm(vm, { force: true });
    assert.notDeepEqual(await vmContent(a, vm), atPoint2);

    const [first, ...rest] = ok(b, 'failover', 'start', '--vm-name=web01', `--recovery-point=${point1}`, `--peer-state-dir=${a.options.stateDir}`);
    assert.equal(rest.length, 0);
    assertShape(first!, 'virtual-machine.json');
    assert.deepEqual(
      { Name: first!.Name, Id: first!.Id, State: first!.State, ReplicationMode: first!.ReplicationMode, ReplicationState: first!.ReplicationState, ReplicationHealth: first!.ReplicationHealth },
      { Name: 'web01', Id: vm, State: 'Off', ReplicationMode: 'Replica', ReplicationState: 'FailedOverWaitingCompletion', ReplicationHealth: 'Warning' },
    );
    assert.deepEqual(await vmContent(b, vm), atPoint1, 'the failed-over VM has the content of point 1');
    assert.match(refused(b, 4, 'ERR_INVALID_STATE', 'failover', 'start', '--vm-name=web01'), /FailedOverWaitingCompletion/);
    refused(b, 4, 'ERR_INVALID_STATE', 'failover', 'start', '--vm-name=web01', '--as-test');

    // Wrong point: cancel. The VM goes, replication state and points are as before.
    const [stopped] = ok(b, 'failover', 'stop', '--vm-name=web01');
    assert.equal(stopped!.ReplicationState, 'Replicating');
    assert.equal(stopped!.StoppedOperation, 'failover-cancelled');
    await assert.rejects(b.host.getVm(vm), (e: unknown) => (e as { code?: string }).code === 'ERR_NOT_FOUND');
    assert.deepEqual(ok(b, 'recovery-point', 'list', '--vm-name=web01').map((p) => p.Id), [point1, point2]);

    // Failover to the latest point, then commit.
    const [latest] = ok(b, 'failover', 'start', '--vm-name=web01');
    assert.equal(latest!.ReplicationState, 'FailedOverWaitingCompletion');
    assert.deepEqual(await vmContent(b, vm), atPoint2, 'latest holds every replicated change');
    const [completed] = ok(b, 'failover', 'complete', '--vm-name=web01');
    assertShape(completed!, 'virtual-machine.json');
    assert.equal(completed!.ReplicationState, 'FailedOver');
    assert.deepEqual(await vmContent(b, vm), atPoint2, 'complete keeps the content');
    assert.deepEqual(ok(b, 'recovery-point', 'list', '--vm-name=web01'), [], 'complete removes the recovery points');
    refused(b, 4, 'ERR_INVALID_STATE', 'failover', 'stop', '--vm-name=web01');
    refused(b, 4, 'ERR_INVALID_STATE', 'failover', 'complete', '--vm-name=web01');
  } finally {
    w.cleanup();
  }
});
