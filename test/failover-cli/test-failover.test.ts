/**
 * Test failover through the real CLI: `failover start --as-test` creates '<VM> - Test' on the chosen point
 * while replication goes on, `failover stop` removes it; refusals while one runs and on the primary.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { testVirtualMachine } from '../../src/cli/commands/failover/test-vm.js';
import { enableReplication, replicateOnce } from '../../src/failover/replication.js';
import { guestWrites, newVm, vmContent, world } from '../failover/helpers.js';
import { assertShape, ok, refused, replicatedPoint } from './helpers.js';

it('failover start --as-test on the latest and on a named point, replication going on, failover stop', async () => {
  const w = world('fcli-test');
  try {
    const { a, b } = w;
    const vm = await newVm(a, 'db01');
    await enableReplication(a, b, vm, { recoveryHistory: 2 });
    const { content: atPoint1, point: point1 } = await replicatedPoint(a, b, vm, 31);
    const { content: atLatest } = await replicatedPoint(a, b, vm, 32);

    assert.match(refused(a, 4, 'ERR_INVALID_STATE', 'failover', 'start', '--vm-name=db01', '--as-test'), /only valid on a replica/);
    refused(b, 2, 'ERR_INVALID_ARGUMENT', 'failover', 'start', '--vm-name=db01', '--as-test', '--prepare');

    const [testVm] = ok(b, 'failover', 'start', '--vm-name=db01', '--as-test');
    assertShape(testVm!, 'virtual-machine.json');
    assert.equal(testVm!.Name, 'db01 - Test');
    assert.notEqual(testVm!.Id, vm);
    assert.equal(testVm!.ReplicationMode, 'TestReplica');
    assert.equal(testVm!.ReplicationState, 'Disabled');
    assert.equal(testVm!.ReplicationHealth, 'NotApplicable');
    assert.equal(testVm!.State, 'Off');
    assert.deepEqual(await vmContent(b, String(testVm!.Id)), atLatest, 'the test VM shows the latest replicated state');

    // What replication get|measure show as TestVirtualMachine while it runs.
    const shown = await testVirtualMachine(b.options.stateDir, vm);
    assertShape(shown!, 'virtual-machine.json');
    assert.deepEqual([shown!.Name, shown!.Id, shown!.ReplicationMode], ['db01 - Test', testVm!.Id, 'TestReplica']);

    // One test at a time; no failover or complete while it runs; replication goes on.
    refused(b, 4, 'ERR_ALREADY_EXISTS', 'failover', 'start', '--vm-name=db01', '--as-test');
    assert.match(refused(b, 4, 'ERR_INVALID_STATE', 'failover', 'start', '--vm-name=db01'), /test failover .* is running/);
    refused(b, 4, 'ERR_INVALID_STATE', 'failover', 'complete', '--vm-name=db01');
    await guestWrites(a, vm, 33);
    await replicateOnce(a, b, vm);
    assert.deepEqual(await vmContent(b, String(testVm!.Id)), atLatest, 'replication does not reach the test VM');

    const [stopped] = ok(b, 'failover', 'stop', '--vm-name=db01');
    assertShape(stopped!, 'virtual-machine.json');
    assert.equal(stopped!.Name, 'db01');
    assert.equal(stopped!.ReplicationState, 'Replicating');
    assert.equal(stopped!.StoppedOperation, 'test-failover-stopped');
    await assert.rejects(b.host.getVm(String(testVm!.Id)), (e: unknown) => (e as { code?: string }).code === 'ERR_NOT_FOUND');
    refused(b, 4, 'ERR_INVALID_STATE', 'failover', 'stop', '--vm-name=db01');
    assert.equal(await testVirtualMachine(b.options.stateDir, vm), null);

    // A test on an older point, through Hyper-V's parameter name.
    const [older] = ok(b, 'failover', 'start', '--vm-name=db01', '--as-test', `--vm-recovery-snapshot=${point1}`);
    assert.deepEqual(await vmContent(b, String(older!.Id)), atPoint1);
    ok(b, 'failover', 'stop', '--vm-name=db01');
    assert.deepEqual((await b.host.listVms()).map((v) => v.name), [], 'no VM is left on the replica');
  } finally {
    w.cleanup();
  }
});
