/**
 * Unplanned failover A→B (named point, cancel, latest, complete), reverse replication B→A after
 * -AsReplica sending only what differs, then failback to A as a planned failover. Content is compared by
 * hash at every step; the wrong-state refusals along the way are checked too.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { it } from 'node:test';
import { completeFailover, prepareFailover, startFailover, stopFailover } from '../../src/failover/failover.js';
import { isFailoverError } from '../../src/failover/errors.js';
import { enableReplication, replicateOnce } from '../../src/failover/replication.js';
import { reverseReplication, setAsReplica } from '../../src/failover/reverse.js';
import { openDisk } from '../../src/vhdx/index.js';
import { guestWrites, MiB, newVm, pointChainFingerprint, seal, storageContent, vmContent, world } from './helpers.js';

const invalidState = (pattern?: RegExp) => (e: unknown) => isFailoverError(e, 'ERR_INVALID_STATE') && (pattern === undefined || pattern.test(e.message));

it('unplanned failover to a chosen point, cancel, failover to latest, complete, reverse, planned failback', async () => {
  const w = world('failover-unplanned');
  try {
    const { a, b } = w;
    const vm = await newVm(a);
    await enableReplication(a, b, vm, { recoveryHistory: 4, replicationFrequencySec: 30 });
    await guestWrites(a, vm, 11);
    await replicateOnce(a, b, vm);
    const atPoint1 = await vmContent(a, vm);
    const point1 = await seal(b, vm);
    await guestWrites(a, vm, 12);
    await replicateOnce(a, b, vm);
    const atPoint2 = await vmContent(a, vm);
    await seal(b, vm);

    // Wrong places and states.
    await assert.rejects(startFailover(a, vm), invalidState(/it is a Primary here/));
    await assert.rejects(completeFailover(b, vm), invalidState(/needs FailedOverWaitingCompletion/));
    await assert.rejects(reverseReplication(b, a, vm), invalidState(/needs FailedOver/));
    await assert.rejects(setAsReplica(a, vm), invalidState(/is running/));
    // Split-brain guard: the primary is reachable and its VM runs.
    await assert.rejects(startFailover(b, vm, { primary: a }), invalidState(/still running on primary/));

    // The primary goes down with changes the replica never got.
    await guestWrites(a, vm, 13);
    await a.host.stopVm(vm, { force: true });
    const lostOnA = await vmContent(a, vm);
    assert.notDeepEqual(lostOnA, atPoint2);

    const fingerprint = await pointChainFingerprint(b, vm, point1);
    const first = await startFailover(b, vm, { point: point1, start: true });
    assert.equal(first.record.state, 'FailedOverWaitingCompletion');
    assert.equal(first.record.history.at(-2)?.to, 'RecoveryInProgress');
    assert.equal(first.vm.state, 'running');
    assert.deepEqual(await vmContent(b, vm), atPoint1);
    // Replication into a failed-over replica is refused (no split brain), and so is a second failover.
    await assert.rejects(replicateOnce(a, b, vm), invalidState(/does not accept changes/));
    await assert.rejects(startFailover(b, vm), invalidState(/needs Replicating/));
    await guestWrites(b, vm, 14);
    assert.equal(await pointChainFingerprint(b, vm, point1), fingerprint, 'the failed-over VM writes into its own layer');

    // Wrong point: cancel, the chain is as before, and another point can be chosen.
    const cancelled = await stopFailover(b, vm);
    assert.equal(cancelled.outcome, 'failover-cancelled');
    assert.equal(cancelled.record.state, 'Replicating');
    assert.ok(!(await b.host.listVms()).some((v) => v.id === vm));
    assert.equal(await pointChainFingerprint(b, vm, point1), fingerprint);
    assert.deepEqual(await storageContent(b, vm, point1), atPoint1);
    await assert.rejects(startFailover(b, vm, { point: 'no-such-point' }), (e: unknown) => isFailoverError(e, 'ERR_NOT_FOUND'));
    await assert.rejects(startFailover(b, vm, { point: 'application-consistent' }), (e: unknown) => isFailoverError(e, 'ERR_NOT_FOUND') && /no application-consistent/.test(e.message));
    assert.equal((await b.store.require(vm)).state, 'Replicating', 'a refused failover leaves the state as it was');

    const second = await startFailover(b, vm);
    assert.deepEqual(await vmContent(b, vm), atPoint2, 'latest = the last replicated state');
    assert.equal(second.record.failedOverReplicationType, 'Regular');
    await b.host.startVm(vm);
    await guestWrites(b, vm, 15);
    const beforeComplete = await vmContent(b, vm);
    const completed = await completeFailover(b, vm);
    assert.equal(completed.state, 'FailedOver');
    assert.equal(completed.failover, undefined);
    assert.ok(!existsSync(b.storageRoot(vm)), 'the other recovery points are deleted');
    assert.deepEqual(await vmContent(b, vm), beforeComplete, 'complete keeps what the VM wrote');
    // Standalone: the VM's chain lives entirely in its own folder.
    const disk = await openDisk((await b.host.getVm(vm)).disks[0]!.currentPath);
    assert.equal(disk.info.chain.length, 2);
    assert.ok(disk.info.chain.every((f) => f.startsWith(b.failedOverDiskFolder(vm))), disk.info.chain.join(', '));
    await disk.close();
    await assert.rejects(stopFailover(b, vm), invalidState(/nothing to stop/));
    await assert.rejects(completeFailover(b, vm), invalidState());

    // Reverse: the old primary must become a replica first; then only differing blocks travel.
    await assert.rejects(reverseReplication(b, a, vm), invalidState(/-AsReplica there first/));
    const asReplica = await setAsReplica(a, vm);
    assert.deepEqual([asReplica.mode, asReplica.state], ['Replica', 'WaitingForInitialReplication']);
    assert.deepEqual(await storageContent(a, vm), lostOnA, "A's own disks are the base to compare against");
    assert.ok(!(await a.host.listVms()).some((v) => v.id === vm), 'the old VM is now only a replica');
    const reversed = await reverseReplication(b, a, vm);
    assert.deepEqual([reversed.primary.mode, reversed.primary.state], ['Primary', 'Replicating']);
    assert.deepEqual([reversed.replica.mode, reversed.replica.state], ['Replica', 'Replicating']);
    assert.ok(reversed.sync.changedBytes > 0 && reversed.sync.changedBytes < 6 * MiB, `sent ${reversed.sync.changedBytes} bytes of 6 MiB`);
    assert.deepEqual(await storageContent(a, vm), await vmContent(b, vm));

    // Deltas flow B→A while the VM runs on B; A→B is refused now.
    await guestWrites(b, vm, 16);
    const delta = await replicateOnce(b, a, vm);
    assert.equal(delta.kind, 'delta');
    assert.deepEqual(await storageContent(a, vm), await vmContent(b, vm));
    await assert.rejects(replicateOnce(a, b, vm), invalidState());

    // Failback to A: a planned failover B→A, then reverse again. Nothing differs, so nothing is sent.
    await assert.rejects(prepareFailover(b, a, vm), invalidState(/is running/));
    await guestWrites(b, vm, 17);
    await b.host.stopVm(vm);
    const finalOnB = await vmContent(b, vm);
    const prepared = await prepareFailover(b, a, vm);
    assert.equal(prepared.record.state, 'PreparedForFailover');
    assert.deepEqual(await storageContent(a, vm), finalOnB, 'prepare sent every remaining change');
    const back = await startFailover(a, vm);
    assert.equal(back.record.failedOverReplicationType, 'Planned');
    assert.deepEqual(await vmContent(a, vm), finalOnB, 'no data lost');
    const rereversed = await reverseReplication(a, b, vm);
    assert.equal(rereversed.sync.changedBytes, 0);
    assert.deepEqual([rereversed.primary.mode, rereversed.replica.mode], ['Primary', 'Replica']);
    await a.host.startVm(vm);
    await guestWrites(a, vm, 18);
    await replicateOnce(a, b, vm);
    assert.deepEqual(await storageContent(b, vm), await vmContent(a, vm));
    const history = (await a.store.require(vm)).history.map((h) => `${h.toMode}:${h.to}`);
    assert.deepEqual(history.slice(-7), [
      'Replica:WaitingForInitialReplication',
      'Replica:Replicating',
      'Replica:RecoveryInProgress',
      'Replica:FailedOverWaitingCompletion',
      'Replica:FailedOver',
      'Primary:InitialReplicationInProgress',
      'Primary:Replicating',
    ]);
  } finally {
    w.cleanup();
  }
});
