/** Runs the pendingBytes contract (./pending-contract.ts) against the file host; the Hyper-V adapter's RCT path below. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileHost } from '../../src/host/file/file-host.js';
import { HyperVHost } from '../../src/host/hyperv/hyperv-host.js';
import { FakeVirtDisk } from '../../src/tracking/rct/fake-virtdisk.js';
import { isResyncRequired } from '../../src/tracking/change-tracker.js';
import { unionLength } from '../../src/tracking/extents.js';
import { RctTracker } from '../../src/tracking/rct/rct-tracker.js';
import { tempDir } from '../helpers/paths.js';
import { FakeClock, FakeHyperV } from '../hyperv-unit/fake-hyperv.js';
import { pendingBytesContract, type PendingFixture } from './pending-contract.js';

const MiB = 1024 * 1024;

pendingBytesContract('file host (checkpoint tracker, 512-byte sectors)', async (): Promise<PendingFixture> => {
  const dir = tempDir('pending-contract-file');
  const host = new FileHost({ root: join(dir.path, 'vms') });
  return {
    host,
    granularity: 512,
    createVm: async (name, size) => {
      const vm = await host.createVm({ name, disks: [size], blockSize: MiB });
      await host.startVm(vm.id);
      return vm.id;
    },
    write: (vmId, offset, length) => host.withWritableDisks(vmId, async ([disk]) => void (await disk!.disk.write(offset, Buffer.alloc(length, 0x5a)))),
    cleanup: async () => dir.cleanup(),
  };
});

/**
 * The Hyper-V adapter against the WMI and virtdisk fakes. The fake's QueryChangesVirtualDisk answers for
 * the sealed state only (writes after the newest reference point are invisible to it), so the live part
 * of the contract cannot run here; what runs is the RCT path itself: the union of RCT ranges since an
 * acknowledged id in RCT units, 0 right after a commit, a full copy's size without an id, and "resync
 * required" for an id virtdisk never issued. Live writes are what Microsoft documents RCT to report ("changes
 * made after the specified change tracking identifier was created"); the gated suite on Hyper-V is where
 * that is seen for real.
 */
describe('HyperVHost.pendingBytes (WMI and virtdisk fakes, RCT in 4 KiB units)', () => {
  it('reads RCT since the acknowledged id, rounds to RCT units, 0 after a commit, resync for unknown ids', async () => {
    const dir = tempDir('pending-hyperv');
    try {
      const hv = new FakeHyperV();
      const vd = new FakeVirtDisk();
      // Hyper-V gives a disk a new RCT id when its checkpoint becomes a reference point.
      hv.rctSeal = (path) => vd.seal(path);
      const host = new HyperVHost({ stateDir: join(dir.path, 'state'), timeouts: { pollIntervalMs: 10 }, fakes: { wmi: hv, clock: new FakeClock() }, rctVirtdisk: vd });
      const vm = randomUUID();
      const path = join(dir.path, 'web01', 'disk0.vhdx');
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, 'stand-in for an 8 MiB VHDX');
      hv.diskSizes.set(path, 8 * MiB);
      vd.addDisk(path, { virtualSize: 8 * MiB, granularity: 4096 });
      // Hyper-V turns RCT on for a VM's disks itself; the fake needs it done explicitly.
      const enabler = await RctTracker.open({ path, virtdisk: vd });
      await enabler.enable();
      await enabler.close();
      hv.addVm({ id: vm, name: 'web01', state: 2, disks: [{ path, slot: 0, virtualSize: 8 * MiB }] });
      const diskId = (await host.getVm(vm)).disks[0]!.id;

      const first = await host.commitReferencePoint(vm, (await host.createReferencePoint(vm)).id);
      const since = first.disks[0]!.trackingId;
      assert.equal(await host.pendingBytes(vm, diskId, since), 0);
      const writes: Array<[number, number]> = [[64 * 1024, 4096], [MiB + 512, 1024], [MiB + 1024, 8192], [5 * MiB - 512, 1536]];
      for (const [offset, length] of writes) vd.write(path, offset, length);
      const second = await host.commitReferencePoint(vm, (await host.createReferencePoint(vm)).id);
      const rounded = unionLength(writes.map(([o, l]) => [Math.floor(o / 4096) * 4096, Math.ceil((o + l) / 4096) * 4096] as [number, number]));
      assert.equal(await host.pendingBytes(vm, diskId, since), rounded, 'the RCT ranges since the older id, in 4 KiB units, once each');
      assert.equal(await host.pendingBytes(vm, diskId, second.disks[0]!.trackingId), 0, 'the newest committed point took them');
      assert.equal(await host.pendingBytes(vm, diskId, undefined), statSync(path).size, 'without an id: the file size, as Hyper-V counts initial replication');
      await assert.rejects(host.pendingBytes(vm, diskId, 'rctX:00000000-0000-0000-0000-000000000000:7'), (e: unknown) => isResyncRequired(e));
      await assert.rejects(host.pendingBytes(vm, 'no-such-disk', since), (e: unknown) => (e as { code?: string }).code === 'ERR_NOT_FOUND');
    } finally {
      dir.cleanup();
    }
  });
});
