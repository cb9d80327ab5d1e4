/**
 * The newest application-consistent point through the real CLI: `recovery-point list` types it
 * AppConsistentReplica, and `failover start --recovery-point=application-consistent` chooses it over a newer
 * crash-consistent state. As in test/failover/app-consistent.test.ts, a file-host subclass stands in for the
 * in-guest VSS step only (the file host has no guest to quiesce); the cycle, storage and failover are real.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { LocalSink } from '../../src/engine/log-sink.js';
import { Replicator } from '../../src/engine/replicator.js';
import { enableReplication, replicateOnce } from '../../src/failover/replication.js';
import { FileHost } from '../../src/host/file/file-host.js';
import type { CreateReferencePointOptions, ReferencePoint } from '../../src/host/host-adapter.js';
import { guestWrites, newVm, seal, vmContent, world } from '../failover/helpers.js';
import { assertShape, ok } from './helpers.js';

class QuiescedFileHost extends FileHost {
  override async createReferencePoint(nameOrId: string, options: CreateReferencePointOptions = {}): Promise<ReferencePoint> {
    const point = await super.createReferencePoint(nameOrId);
    return { ...point, consistency: options.consistency ?? 'crash' };
  }
}

it('recovery-point list types application-consistent points; failover start chooses the newest one', async () => {
  const w = world('fcli-app');
  try {
    const { a, b } = w;
    const vm = await newVm(a, 'sql01');
    await enableReplication(a, b, vm, { recoveryHistory: 6 });
    await guestWrites(a, vm, 61);
    await replicateOnce(a, b, vm);
    await seal(b, vm);
    await guestWrites(a, vm, 62);
    const vss = new Replicator({ host: new QuiescedFileHost({ root: a.host.root }), vm, sink: new LocalSink(await b.openStorage(vm)), stateFile: a.primaryStateFile(vm), consistency: () => 'application' });
    assert.equal((await vss.syncOnce()).consistency, 'application');
    const atAppPoint = await vmContent(a, vm);
    await guestWrites(a, vm, 63);
    await replicateOnce(a, b, vm);
    await seal(b, vm);
    assert.notDeepEqual(await vmContent(a, vm), atAppPoint);
    await a.host.stopVm(vm, { force: true });

    const points = ok(b, 'recovery-point', 'list', '--vm-name=sql01');
    assert.deepEqual(points.map((p) => p.SnapshotType), ['Replica', 'AppConsistentReplica', 'Replica']);
    const app = ok(b, 'recovery-point', 'list', '--vm-name=sql01', '--snapshot-type=AppConsistentReplica');
    assert.equal(app.length, 1);
    assertShape(app[0]!, 'vm-snapshot.json');
    assert.match(String(app[0]!.Name), /^sql01 - Application-consistent Replica - \(/);

    const [vmView] = ok(b, 'failover', 'start', '--vm-name=sql01', '--recovery-point=application-consistent');
    assert.equal(vmView!.ReplicationState, 'FailedOverWaitingCompletion');
    assert.deepEqual(await vmContent(b, vm), atAppPoint);
    assert.equal((await b.store.require(vm)).failedOverReplicationType, 'ApplicationConsistent');
  } finally {
    w.cleanup();
  }
});
