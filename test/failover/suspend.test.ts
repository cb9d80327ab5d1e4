/** Suspend and resume on either side, and what each state lets through. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isFailoverError } from '../../src/failover/errors.js';
import { startFailover, stopFailover } from '../../src/failover/failover.js';
import { enableReplication, replicateOnce } from '../../src/failover/replication.js';
import { resumeReplication, suspendReplication } from '../../src/failover/suspend.js';
import { guestWrites, newVm, storageContent, vmContent, world } from './helpers.js';

const invalidState = (pattern?: RegExp) => (e: unknown) => isFailoverError(e, 'ERR_INVALID_STATE') && (pattern === undefined || pattern.test(e.message));

it('a suspended primary sends nothing and catches up after resume; a suspended replica refuses logs but can fail over', async () => {
  const w = world('failover-suspend');
  try {
    const { a, b } = w;
    const vm = await newVm(a);
    await enableReplication(a, b, vm);
    await assert.rejects(resumeReplication(a, vm), invalidState(/in replication state ReadyForInitialReplication/));
    await guestWrites(a, vm, 41);
    await replicateOnce(a, b, vm);

    await suspendReplication(a, vm);
    await guestWrites(a, vm, 42);
    await assert.rejects(replicateOnce(a, b, vm), invalidState(/does not replicate in state Suspended/));
    await assert.rejects(suspendReplication(a, vm), invalidState());
    await resumeReplication(a, vm);
    await replicateOnce(a, b, vm);
    assert.deepEqual(await storageContent(b, vm), await vmContent(a, vm), 'changes made while suspended arrive after resume');

    await suspendReplication(b, vm);
    await assert.rejects(replicateOnce(a, b, vm), invalidState(/does not accept changes .* in state Suspended/));
    const failedOver = await startFailover(b, vm);
    assert.equal(failedOver.record.state, 'FailedOverWaitingCompletion');
    const cancelled = await stopFailover(b, vm);
    assert.equal(cancelled.record.state, 'Replicating', 'Start-VMFailover flipped the suspended replica back to Replicating');
    await guestWrites(a, vm, 43);
    await replicateOnce(a, b, vm);
    assert.deepEqual(await storageContent(b, vm), await vmContent(a, vm));
  } finally {
    w.cleanup();
  }
});
