/**
 * Planned failover through the real CLI: `failover start --prepare` on the primary (refused while the VM
 * runs, ERR_NOT_SUPPORTED without the replica's state directory), `failover stop` cancelling a prepare,
 * then failover on the replica losing nothing. Also the selection errors of --vm-name.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { enableReplication, replicateOnce } from '../../src/failover/replication.js';
import { guestWrites, MiB, newVm, vmContent, world } from '../failover/helpers.js';
import { assertShape, ok, refused } from './helpers.js';

it('failover start --prepare on the primary, stop cancels it, prepare again and fail over on the replica', async () => {
  const w = world('fcli-planned');
  try {
    const { a, b } = w;
    const vm = await newVm(a, 'app01');
    await a.host.createVm({ name: 'loner', disks: [MiB], blockSize: MiB });
    await enableReplication(a, b, vm);
    await guestWrites(a, vm, 41);
    await replicateOnce(a, b, vm);

    // Selection: unknown VM, a VM without replication, a pattern matching nothing.
    refused(a, 3, 'ERR_NOT_FOUND', 'failover', 'start', '--vm-name=ghost', '--prepare');
    refused(a, 4, 'ERR_REPLICATION_NOT_ENABLED', 'failover', 'start', '--vm-name=loner', '--prepare');
    assert.deepEqual(ok(a, 'failover', 'start', '--vm-name=zz*', '--prepare'), []);

    const peer = `--peer-state-dir=${b.options.stateDir}`;
    assert.match(refused(a, 7, 'ERR_NOT_SUPPORTED', 'failover', 'start', '--vm-name=app01', '--prepare'), /failover start --vm-name app01' on hv-b\.example\.test/);
    assert.match(refused(a, 4, 'ERR_INVALID_STATE', 'failover', 'start', '--vm-name=app01', '--prepare', peer), /needs it off/);
    assert.match(refused(b, 4, 'ERR_INVALID_STATE', 'failover', 'start', '--vm-name=app01', '--prepare', `--peer-state-dir=${a.options.stateDir}`), /Primary/);
    refused(a, 2, 'ERR_INVALID_ARGUMENT', 'failover', 'start', '--vm-name=app01', '--prepare', '--recovery-point=latest');

    // Changes the replica has not got, then the VM is shut down: prepare ships them.
    await guestWrites(a, vm, 42);
    await a.host.stopVm(vm);
    const final = await vmContent(a, vm);
    const [prepared] = ok(a, 'failover', 'start', '--vm-name=app01', '--prepare', peer);
    assertShape(prepared!, 'virtual-machine.json');
    assert.deepEqual(
      [prepared!.Name, prepared!.State, prepared!.ReplicationMode, prepared!.ReplicationState],
      ['app01', 'Off', 'Primary', 'PreparedForFailover'],
    );
    // A second prepare has nothing to do in PreparedForFailover: refused, even without the replica.
    assert.match(refused(a, 4, 'ERR_INVALID_STATE', 'failover', 'start', '--vm-name=app01', '--prepare'), /PreparedForFailover/);

    const [cancelled] = ok(a, 'failover', 'stop', '--vm-name=app01');
    assert.equal(cancelled!.ReplicationState, 'Replicating');
    assert.equal(cancelled!.StoppedOperation, 'prepare-cancelled');
    const [again] = ok(a, 'failover', 'start', '--vm-name=app01', '--prepare', peer);
    assert.equal(again!.ReplicationState, 'PreparedForFailover');

    const [failedOver] = ok(b, 'failover', 'start', '--vm-name=app01', `--peer-state-dir=${a.options.stateDir}`);
    assert.equal(failedOver!.ReplicationState, 'FailedOverWaitingCompletion');
    assert.deepEqual(await vmContent(b, vm), final, 'a planned failover loses nothing');
    const [done] = ok(b, 'failover', 'complete', '--vm-name=app01');
    assert.equal(done!.ReplicationState, 'FailedOver');
    assert.equal((await b.store.require(vm)).failedOverReplicationType, 'Planned');
    assert.deepEqual(await vmContent(b, vm), final);
  } finally {
    w.cleanup();
  }
});
