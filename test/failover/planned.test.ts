/**
 * Planned failover A→B with the VM's workload running until shutdown: prepare refusals, cancel of a
 * prepare, no data lost (hash), reverse without resending anything, and the records persisted on disk.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { it } from 'node:test';
import { assertMayStart, prepareFailover, startFailover, stopFailover } from '../../src/failover/failover.js';
import { isFailoverError } from '../../src/failover/errors.js';
import { FailoverStore } from '../../src/failover/record.js';
import { enableReplication, replicateOnce } from '../../src/failover/replication.js';
import { reverseReplication, setAsReplica } from '../../src/failover/reverse.js';
import { startTestFailover } from '../../src/failover/test-failover.js';
import { runWorkload } from '../../src/host/file/workload.js';
import { guestWrites, newVm, storageContent, vmContent, world } from './helpers.js';

const invalidState = (pattern?: RegExp) => (e: unknown) => isFailoverError(e, 'ERR_INVALID_STATE') && (pattern === undefined || pattern.test(e.message));

it('planned failover: prepare sends the last changes, the replica comes up with no data lost, reverse sends nothing', async () => {
  const w = world('failover-planned');
  try {
    const { a, b } = w;
    const vm = await newVm(a);
    await enableReplication(a, b, vm);
    await assert.rejects(prepareFailover(a, b, vm), invalidState(/in replication state ReadyForInitialReplication/));
    await guestWrites(a, vm, 21);
    await replicateOnce(a, b, vm);
    await guestWrites(a, vm, 22);
    await replicateOnce(a, b, vm);

    await assert.rejects(prepareFailover(a, b, vm), invalidState(/is running; a planned failover needs it off/));
    // The guest keeps writing while cycles run; every write lands before or after each reference point.
    const stop = new AbortController();
    const workload = runWorkload(a.host, { vm, seed: 25, rate: 2 * 1024 * 1024, minSize: 512, maxSize: 32 * 1024, batch: 4, signal: stop.signal });
    await replicateOnce(a, b, vm);
    await replicateOnce(a, b, vm);
    stop.abort();
    await workload;
    await assert.rejects(prepareFailover(b, a, vm), invalidState(/it is a Replica here/));
    // Changes the replica has not seen yet, then the shutdown.
    await guestWrites(a, vm, 23);
    await a.host.stopVm(vm);
    const final = await vmContent(a, vm);
    assert.notDeepEqual(await storageContent(b, vm), final);

    // A prepare can be cancelled: replication restarts and the VM may start again.
    const firstPrepare = await prepareFailover(a, b, vm);
    assert.throws(() => assertMayStart(firstPrepare.record), invalidState(/prepared for a planned failover/));
    const cancelled = await stopFailover(a, vm);
    assert.deepEqual([cancelled.outcome, cancelled.record.state], ['prepare-cancelled', 'Replicating']);
    assert.doesNotThrow(() => assertMayStart(cancelled.record));

    const prepared = await prepareFailover(a, b, vm);
    assert.equal(prepared.record.state, 'PreparedForFailover');
    assert.deepEqual(await storageContent(b, vm), final, 'every change reached the replica');
    await assert.rejects(replicateOnce(a, b, vm), invalidState(/does not replicate in state PreparedForFailover/));
    await assert.rejects(startFailover(a, vm), invalidState(/it is a Primary here/));

    const failedOver = await startFailover(b, vm, { primary: a });
    assert.equal(failedOver.record.failedOverReplicationType, 'Planned');
    assert.equal(failedOver.vm.state, 'off', 'Start-VMFailover does not start the VM by itself');
    assert.deepEqual(await vmContent(b, vm), final, 'no data lost');
    await assert.rejects(startTestFailover(b, vm), invalidState(/needs state Replicating or Suspended, not FailedOverWaitingCompletion/));

    // Reverse completes the failover, makes A a replica and sends nothing: both sides are equal.
    const reversed = await reverseReplication(b, a, vm);
    assert.equal(reversed.sync.changedBytes, 0);
    assert.deepEqual([reversed.primary.mode, reversed.primary.state, reversed.primary.peerServer], ['Primary', 'Replicating', a.name]);
    assert.deepEqual([reversed.replica.mode, reversed.replica.state, reversed.replica.peerServer], ['Replica', 'Replicating', b.name]);
    await assert.rejects(setAsReplica(a, vm), invalidState(/it is a Replica here/));
    await b.host.startVm(vm);
    await guestWrites(b, vm, 24);
    await replicateOnce(b, a, vm);
    assert.deepEqual(await storageContent(a, vm), await vmContent(b, vm));

    // The records are on disk, one per VM and host, and a damaged one is refused, not guessed at.
    const onDisk = await new FailoverStore(b.options.stateDir).require(vm);
    assert.deepEqual(onDisk.history.map((h) => h.command), ['enable', 'completeInitialReplication', 'startFailover', 'failoverReady', 'completeFailover', 'reverse', 'completeInitialReplication']);
    assert.ok(onDisk.history.every((h) => !Number.isNaN(Date.parse(h.at)) && h.reason.length > 0));
    await writeFile(b.store.path(vm), '{"formatVersion":1}');
    await assert.rejects(b.store.require(vm), (e: unknown) => isFailoverError(e, 'ERR_CORRUPT_STATE'));
    await assert.rejects(b.store.require('00000000-0000-4000-8000-000000000001'), (e: unknown) => isFailoverError(e, 'ERR_REPLICATION_NOT_ENABLED'));
  } finally {
    w.cleanup();
  }
});
