/**
 * Operations interrupted half-way (a crash between persisting a transition and finishing its file work)
 * are finished or undone by the next call: nothing is lost and no state is stuck.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { completeFailover, prepareFailover, startFailover, stopFailover } from '../../src/failover/failover.js';
import { enableReplication, replicateOnce } from '../../src/failover/replication.js';
import { reverseReplication, setAsReplica } from '../../src/failover/reverse.js';
import { transition } from '../../src/failover/state.js';
import { guestWrites, newVm, storageContent, vmContent, world } from './helpers.js';

it('a failover that died in RecoveryInProgress is cancelled by Stop-VMFailover, leftovers removed', async () => {
  const w = world('failover-interrupted-start');
  try {
    const { a, b } = w;
    const vm = await newVm(a);
    await enableReplication(a, b, vm);
    await guestWrites(a, vm, 61);
    await replicateOnce(a, b, vm);
    const replicated = await vmContent(a, vm);
    // The process died after persisting RecoveryInProgress and creating a layer.
    await b.store.modify(vm, (r) => transition(r, 'startFailover', 'failover started', b.clock()));
    await mkdir(b.failedOverDiskFolder(vm), { recursive: true });
    await writeFile(join(b.failedOverDiskFolder(vm), 'disk0_failover_partial.avhdx'), 'partial');
    await assert.rejects(startFailover(b, vm), /needs Replicating/);

    const { outcome, record } = await stopFailover(b, vm);
    assert.deepEqual([outcome, record.state], ['failover-cancelled', 'Replicating']);
    assert.ok(!existsSync(b.failedOverDiskFolder(vm)));
    await startFailover(b, vm);
    assert.deepEqual(await vmContent(b, vm), replicated);
  } finally {
    w.cleanup();
  }
});

it('a reverse that died right after switching roles is resumed by running it again', async () => {
  const w = world('failover-interrupted-reverse');
  try {
    const { a, b } = w;
    const vm = await newVm(a);
    await enableReplication(a, b, vm);
    await guestWrites(a, vm, 62);
    await replicateOnce(a, b, vm);
    await a.host.stopVm(vm);
    await prepareFailover(a, b, vm);
    await startFailover(b, vm, { start: true });
    await guestWrites(b, vm, 63);
    await completeFailover(b, vm);
    await setAsReplica(a, vm);
    // The process died after the record said Primary, before anything was sent.
    await b.store.modify(vm, (r) => ({ ...transition(r, 'reverse', 'reversed', b.clock()), peerServer: a.name }));

    const resumed = await reverseReplication(b, a, vm);
    assert.deepEqual([resumed.primary.mode, resumed.primary.state, resumed.replica.state], ['Primary', 'Replicating', 'Replicating']);
    assert.ok(resumed.sync.changedBytes > 0, 'what B wrote after the failover was sent');
    assert.deepEqual(await storageContent(a, vm), await vmContent(b, vm));
    await guestWrites(b, vm, 64);
    await replicateOnce(b, a, vm);
    assert.deepEqual(await storageContent(a, vm), await vmContent(b, vm));
  } finally {
    w.cleanup();
  }
});
