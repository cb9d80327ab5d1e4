/**
 * Extended replication A→B→C with Hyper-V's frequency rules, content checked by hash at each hop, and
 * the topology re-wired after A→B fails over (Resume -Continue: B becomes C's primary).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isFailoverError } from '../../src/failover/errors.js';
import { checkExtendedFrequency, continueExtended, enableExtendedReplication, replicateExtended } from '../../src/failover/extended.js';
import { startFailover } from '../../src/failover/failover.js';
import { enableReplication, replicateOnce } from '../../src/failover/replication.js';
import { startTestFailover, stopTestFailover } from '../../src/failover/test-failover.js';
import { guestWrites, MiB, newVm, storageContent, vmContent, world } from './helpers.js';

const invalidArgument = (pattern: RegExp) => (e: unknown) => isFailoverError(e, 'ERR_INVALID_ARGUMENT') && pattern.test(e.message);
const invalidState = (pattern?: RegExp) => (e: unknown) => isFailoverError(e, 'ERR_INVALID_STATE') && (pattern === undefined || pattern.test(e.message));

it('extended frequency is 300 or 900 s and never more frequent than the primary', () => {
  assert.throws(() => checkExtendedFrequency(30, 30), invalidArgument(/300 or 900/));
  assert.throws(() => checkExtendedFrequency(300, 900), invalidArgument(/cannot be more frequent/));
  assert.doesNotThrow(() => checkExtendedFrequency(300, 300));
  assert.doesNotThrow(() => checkExtendedFrequency(900, 30));
});

it('A→B→C: chained cycles, test failover on C, then failover of A→B and B continues to C', async () => {
  const w = world('failover-extended');
  try {
    const { a, b, c } = w;
    const vm = await newVm(a);
    await enableReplication(a, b, vm, { replicationFrequencySec: 900 });
    await assert.rejects(enableExtendedReplication(b, c, vm), invalidState(/must be Replicating/));
    await guestWrites(a, vm, 31);
    await replicateOnce(a, b, vm);

    await assert.rejects(enableExtendedReplication(a, c, vm), invalidState(/A→B→C only/));
    await assert.rejects(enableExtendedReplication(b, c, vm, { replicationFrequencySec: 300 }), invalidArgument(/cannot be more frequent/));
    await assert.rejects(enableExtendedReplication(b, c, vm, { replicationFrequencySec: 30 }), invalidArgument(/300 or 900/));
    const enabled = await enableExtendedReplication(b, c, vm);
    assert.equal(enabled.extended.replicationFrequencySec, 900);
    assert.deepEqual([enabled.extended.mode, enabled.extended.relationshipType, enabled.extended.state], ['ExtendedReplica', 'Extended', 'WaitingForInitialReplication']);
    await assert.rejects(enableExtendedReplication(b, c, vm, { replicationFrequencySec: 900 }), (e: unknown) => isFailoverError(e, 'ERR_ALREADY_EXISTS'));

    const initial = await replicateExtended(b, c, vm);
    assert.ok(initial);
    assert.deepEqual(await storageContent(c, vm), await vmContent(a, vm));
    assert.equal(await replicateExtended(b, c, vm), undefined, 'nothing new on B, nothing sent');
    await guestWrites(a, vm, 32, 10);
    await replicateOnce(a, b, vm);
    const delta = await replicateExtended(b, c, vm);
    assert.ok(delta && delta.changedBytes > 0 && delta.changedBytes < 2 * MiB, `delta carried ${delta?.changedBytes}`);
    assert.deepEqual(await storageContent(c, vm), await vmContent(a, vm));
    assert.equal((await c.store.require(vm)).state, 'Replicating');

    // The extended replica can be tested (and failed over), never prepared.
    const test = await startTestFailover(c, vm);
    assert.deepEqual(await vmContent(c, test.vm.id), await vmContent(a, vm));
    await stopTestFailover(c, vm);

    // A fails: B fails over; B→C pauses until B continues as C's primary.
    await a.host.stopVm(vm, { force: true });
    await startFailover(b, vm, { start: true });
    await assert.rejects(replicateExtended(b, c, vm), invalidState(/pauses while/));
    await guestWrites(b, vm, 33);
    const continued = await continueExtended(b, c, vm);
    assert.deepEqual([continued.primary.mode, continued.primary.state, continued.primary.peerServer], ['Primary', 'Replicating', c.name]);
    assert.deepEqual([continued.replica.mode, continued.replica.relationshipType, continued.replica.state], ['Replica', 'Simple', 'Replicating']);
    assert.ok(continued.sync.changedBytes > 0 && continued.sync.changedBytes < 6 * MiB);
    assert.deepEqual(await storageContent(c, vm), await vmContent(b, vm));
    assert.equal(await b.store.get(vm, 'Extended'), undefined);
    await guestWrites(b, vm, 34);
    await replicateOnce(b, c, vm);
    assert.deepEqual(await storageContent(c, vm), await vmContent(b, vm));
  } finally {
    w.cleanup();
  }
});
