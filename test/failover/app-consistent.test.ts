/**
 * Failover to the newest application-consistent point. The file host has no guest to quiesce, so a
 * subclass stands in for the in-guest VSS step only: it takes an ordinary (crash) point and reports the
 * consistency the engine asked for, exactly what a Hyper-V host returns after VSS. Everything else —
 * Replicator, log, storage sealing the point at the cycle boundary, failover — is the real path.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { LocalSink } from '../../src/engine/log-sink.js';
import { Replicator } from '../../src/engine/replicator.js';
import { startFailover } from '../../src/failover/failover.js';
import { enableReplication, replicateOnce } from '../../src/failover/replication.js';
import { FileHost } from '../../src/host/file/file-host.js';
import type { CreateReferencePointOptions, ReferencePoint } from '../../src/host/host-adapter.js';
import { guestWrites, newVm, seal, vmContent, world } from './helpers.js';

class QuiescedFileHost extends FileHost {
  override async createReferencePoint(nameOrId: string, options: CreateReferencePointOptions = {}): Promise<ReferencePoint> {
    const point = await super.createReferencePoint(nameOrId);
    return { ...point, consistency: options.consistency ?? 'crash' };
  }
}

it('unplanned failover to the newest application-consistent point, skipping newer crash-consistent ones', async () => {
  const w = world('failover-app');
  try {
    const { a, b } = w;
    const vm = await newVm(a);
    await enableReplication(a, b, vm, { recoveryHistory: 6 });
    await guestWrites(a, vm, 51);
    await replicateOnce(a, b, vm);
    await seal(b, vm);

    await guestWrites(a, vm, 52);
    const vss = new Replicator({ host: new QuiescedFileHost({ root: a.host.root }), vm, sink: new LocalSink(await b.openStorage(vm)), stateFile: a.primaryStateFile(vm), consistency: () => 'application' });
    const appCycle = await vss.syncOnce();
    assert.equal(appCycle.consistency, 'application');
    const atAppPoint = await vmContent(a, vm);

    await guestWrites(a, vm, 53);
    await replicateOnce(a, b, vm);
    const latest = await vmContent(a, vm);
    await a.host.stopVm(vm, { force: true });

    const points = await (await b.openStorage(vm)).listRecoveryPoints();
    assert.deepEqual(points.map((p) => p.consistency), ['crash', 'application']);
    const result = await startFailover(b, vm, { point: 'application-consistent' });
    assert.equal(result.point.consistency, 'application');
    assert.equal(result.record.failedOverReplicationType, 'ApplicationConsistent');
    assert.deepEqual(await vmContent(b, vm), atAppPoint);
    assert.notDeepEqual(atAppPoint, latest);
  } finally {
    w.cleanup();
  }
});
