/**
 * Test failover end to end on two in-process sites: a test VM over a chosen point on its own layers, the
 * point's chain byte-for-byte untouched, replication going on meanwhile, one test at a time.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { it } from 'node:test';
import { enableReplication, replicateOnce } from '../../src/failover/replication.js';
import { startTestFailover, stopTestFailover } from '../../src/failover/test-failover.js';
import { startFailover, stopFailover } from '../../src/failover/failover.js';
import { isFailoverError } from '../../src/failover/errors.js';
import { FailoverSite } from '../../src/failover/site.js';
import { guestWrites, newVm, pointChainFingerprint, seal, storageContent, vmContent, world } from './helpers.js';

it('test failover from an older point: separate VM, chain untouched, replication continues, stop removes it', async () => {
  const w = world('failover-test');
  try {
    const { a, b } = w;
    const vm = await newVm(a);
    await enableReplication(a, b, vm, { recoveryHistory: 4 });

    // Refused before anything was replicated: there is nothing to test.
    await assert.rejects(startTestFailover(b, vm), (e: unknown) => isFailoverError(e, 'ERR_INVALID_STATE') && /needs state Replicating or Suspended, not WaitingForInitialReplication/.test(e.message));
    // Refused on the primary.
    await assert.rejects(startTestFailover(a, vm), (e: unknown) => isFailoverError(e, 'ERR_INVALID_STATE') && /only valid on a replica/.test(e.message));

    await guestWrites(a, vm, 1);
    await replicateOnce(a, b, vm);
    const atPoint1 = await vmContent(a, vm);
    const point1 = await seal(b, vm);
    await guestWrites(a, vm, 2);
    await replicateOnce(a, b, vm);
    const point2 = await seal(b, vm);
    assert.notEqual(point1, point2);
    assert.deepEqual(await storageContent(b, vm, point1), atPoint1);

    const fingerprint = await pointChainFingerprint(b, vm, point1);
    const { vm: testVm, record, point } = await startTestFailover(b, vm, { point: point1 });
    assert.equal(point.id, point1);
    assert.equal(testVm.name, 'web01 - Test');
    assert.ok(testVm.isTestVm);
    assert.equal(record.state, 'Replicating', 'a test failover does not change the replication state');
    assert.equal(record.testFailover?.vmName, 'web01 - Test');
    assert.ok(record.lastTestFailoverInitiatedTime);
    assert.deepEqual(await vmContent(b, testVm.id), atPoint1, 'the test VM shows the chosen point');

    // The test VM runs and writes; the point's chain does not change.
    await b.host.startVm(testVm.id);
    await guestWrites(b, testVm.id, 3);
    assert.notDeepEqual(await vmContent(b, testVm.id), atPoint1);
    assert.equal(await pointChainFingerprint(b, vm, point1), fingerprint);

    // Replication goes on during the test.
    await guestWrites(a, vm, 4);
    await replicateOnce(a, b, vm);
    assert.deepEqual(await storageContent(b, vm), await vmContent(a, vm));

    // One test at a time, and no real failover while it runs.
    await assert.rejects(startTestFailover(b, vm), (e: unknown) => isFailoverError(e, 'ERR_ALREADY_EXISTS'));
    await assert.rejects(startFailover(b, vm), (e: unknown) => isFailoverError(e, 'ERR_INVALID_STATE') && /test failover .* is running/.test(e.message));

    const stopped = await stopFailover(b, vm);
    assert.equal(stopped.outcome, 'test-failover-stopped');
    assert.equal(stopped.record.testFailover, undefined);
    assert.ok(!(await b.host.listVms()).some((v) => v.id === testVm.id), 'the test VM is gone');
    assert.ok(!existsSync(record.testFailover!.folder), 'its layers are gone');
    assert.equal(await pointChainFingerprint(b, vm, point1), fingerprint);
    assert.deepEqual(await storageContent(b, vm, point1), atPoint1);
    await assert.rejects(stopTestFailover(b, vm), (e: unknown) => isFailoverError(e, 'ERR_INVALID_STATE'));
    await assert.rejects(stopFailover(b, vm), (e: unknown) => isFailoverError(e, 'ERR_INVALID_STATE') && /nothing to stop/.test(e.message));

    // A second test, from the latest state, works after the first one stopped.
    const again = await startTestFailover(b, vm);
    assert.deepEqual(await vmContent(b, again.vm.id), await vmContent(a, vm));
    await stopTestFailover(b, vm);
  } finally {
    w.cleanup();
  }
});

it('while a test failover runs, due seals wait, so retention never merges the point under the test VM', async () => {
  const w = world('failover-test-retention');
  try {
    const { a } = w;
    let now = Date.parse('2026-11-25T12:00:00Z');
    const b = new FailoverSite({ ...w.b.options, clock: () => new Date(now) });
    const vm = await newVm(a);
    await enableReplication(a, b, vm); // RecoveryHistory 0: only the latest point is kept
    await guestWrites(a, vm, 5);
    await replicateOnce(a, b, vm);
    const atPoint = await vmContent(a, vm);
    const { vm: testVm, point } = await startTestFailover(b, vm);
    const fingerprint = await pointChainFingerprint(b, vm, point.id);

    now += 2 * 60 * 60 * 1000; // a seal is due
    await guestWrites(a, vm, 6);
    await replicateOnce(a, b, vm);
    assert.deepEqual((await (await b.openStorage(vm)).listRecoveryPoints()).map((p) => p.id), [point.id], 'no seal while the test runs');
    assert.equal(await pointChainFingerprint(b, vm, point.id), fingerprint);
    assert.deepEqual(await vmContent(b, testVm.id), atPoint);
    assert.deepEqual(await storageContent(b, vm), await vmContent(a, vm), 'yet the changes were applied');

    await stopTestFailover(b, vm);
    await guestWrites(a, vm, 7);
    await replicateOnce(a, b, vm);
    const points = await (await b.openStorage(vm)).listRecoveryPoints();
    assert.equal(points.length, 1);
    assert.notEqual(points[0]!.id, point.id, 'the seal happened once the test was over');
    assert.deepEqual(await storageContent(b, vm, points[0]!.id), await vmContent(a, vm));
  } finally {
    w.cleanup();
  }
});
