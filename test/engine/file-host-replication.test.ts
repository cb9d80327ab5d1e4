/**
 * The whole primary → replica path on one machine with real parts only: the file host (VHDX disks,
 * differencing layers as reference points, the checkpoint tracker), the Replicator, LocalSink, and
 * VHDX replica storage.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { it } from 'node:test';
import { LocalSink } from '../../src/engine/log-sink.js';
import { Replicator, replicaDisksOf } from '../../src/engine/replicator.js';
import { FileHost } from '../../src/host/file/file-host.js';
import { createVhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { tempDir } from '../helpers/paths.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

it('file host → Replicator → LocalSink → replica storage: initial copy + 3 deltas, each point equal by hash', async () => {
  const dir = tempDir('file-host-replication');
  try {
    const host = new FileHost({ root: join(dir.path, 'primary') });
    const vm = await host.createVm({ name: 'web01', disks: [8 * MiB, 4 * MiB], blockSize: MiB });
    await host.startVm(vm.id);
    const spec = replicaDisksOf(await host.getVm(vm.id));
    const storage = await createVhdxReplicaStorage(join(dir.path, 'replica', spec.vmId), { ...spec, blockSize: MiB, settings: { recoveryHistory: 4 } });
    const replicator = new Replicator({ host, vm: vm.id, sink: new LocalSink(storage), stateFile: join(dir.path, 'primary-state.json') });

    const guestWrites = (cycle: number) =>
      host.withWritableDisks(vm.id, async (disks) => {
        await disks[0]!.disk.write(cycle * MiB, randomBytes(96 * 1024));
        await disks[0]!.disk.write(7 * MiB, randomBytes(4096));
        await disks[1]!.disk.write((cycle % 4) * MiB + 512, randomBytes(8192));
        if (cycle > 0) await disks[1]!.disk.zero(0, 64 * 1024);
      });

    const expected = new Map<string, string[]>();
    for (let cycle = 0; cycle <= 3; cycle += 1) {
      await guestWrites(cycle);
      const result = await replicator.syncOnce();
      assert.deepEqual([result.kind, result.generation, result.sequence], [cycle === 0 ? 'initial' : 'delta', 1, cycle]);
      // The checkpoint tracker reports whole written blocks at most: a delta is far below the 12 MiB of disk.
      if (cycle > 0) assert.ok(result.changedBytes <= 4 * MiB, `delta ${cycle} carried ${result.changedBytes} bytes`);
      const primary: string[] = [];
      for (const disk of (await host.getVm(vm.id)).disks) {
        const image = await host.openDiskAt(vm.id, result.referencePoint, disk.id);
        primary.push(sha(await image.read(0, image.virtualSize)));
        await image.close();
      }
      expected.set(result.referencePoint, primary);
      const point = await storage.seal();
      assert.ok(point);
      assert.equal(point.referencePoint, result.referencePoint);
    }

    const points = await storage.listRecoveryPoints();
    assert.equal(points.length, 4);
    for (const p of points) {
      const replica: string[] = [];
      for (const disk of spec.disks) {
        const image = await storage.openRecoveryPoint(p.id, disk.diskId);
        replica.push(sha(await image.read(0, image.info.virtualSize)));
        await image.close();
      }
      assert.deepEqual(replica, expected.get(p.referencePoint), `recovery point ${p.sequence}`);
    }
  } finally {
    dir.cleanup();
  }
});
