/**
 * The data-at-risk part of the HostAdapter contract (HostAdapter.pendingBytes), for any host whose guest
 * writes a test can make and whose tracker sees them live: the file host over real VHDX layers. (The
 * virtdisk fake answers for the sealed state only, so the Hyper-V adapter's RCT path has its own test in
 * ./pending-contract.test.ts.)
 * Between cycles the figure is the changes since the committed point, rounded out to the tracker's unit and
 * never counting a unit twice; it is 0 right after a commit, and an id the tracker does not know means a
 * resynchronisation. (The file host's cycle in flight is covered by test/relationship/pending.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostAdapter } from '../../src/host/host-adapter.js';
import { isResyncRequired } from '../../src/tracking/change-tracker.js';
import { unionLength } from '../../src/tracking/extents.js';

export interface PendingFixture {
  host: HostAdapter;
  /** A running VM with one disk of `size` bytes and change tracking on; its id. */
  createVm(name: string, size: number): Promise<string>;
  /** A guest write of `length` bytes at `offset` into the VM's only disk, as it is now. */
  write(vmId: string, offset: number, length: number): Promise<void>;
  /** The unit the host's tracker counts in. */
  granularity: number;
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;

export function pendingBytesContract(name: string, makeFixture: () => Promise<PendingFixture>): void {
  describe(`HostAdapter.pendingBytes contract: ${name}`, () => {
    it('counts the writes since the committed point, rounded out to the unit and once each; 0 after a commit', async () => {
      const f = await makeFixture();
      try {
        const { host, granularity: g } = f;
        const vm = await f.createVm('pending-ct', 8 * MiB);
        const diskId = (await host.getVm(vm)).disks[0]!.id;
        const first = await host.commitReferencePoint(vm, (await host.createReferencePoint(vm)).id);
        const since = first.disks[0]!.trackingId;
        assert.equal(await host.pendingBytes(vm, diskId, since), 0, 'nothing written since the commit');

        const writes: Array<[number, number]> = [[64 * 1024, 4096], [MiB + 512, 1024], [MiB + 1024, 8192], [5 * MiB - 512, 1536]];
        for (const [offset, length] of writes) await f.write(vm, offset, length);
        const rounded = unionLength(writes.map(([o, l]) => [Math.floor(o / g) * g, Math.ceil((o + l) / g) * g] as [number, number]));
        assert.equal(await host.pendingBytes(vm, diskId, since), rounded, `the union of the writes in ${g}-byte units`);
        assert.equal(await host.pendingBytes(vm, diskId, since), rounded, 'reading it takes no reference point and changes nothing');
        assert.equal((await host.getVm(vm)).referencePoints.filter((p) => p.state === 'frozen').length, 0);

        const second = await host.commitReferencePoint(vm, (await host.createReferencePoint(vm)).id);
        assert.equal(await host.pendingBytes(vm, diskId, second.disks[0]!.trackingId), 0, 'the committed point took them');
        await f.write(vm, 3 * MiB, 4096);
        assert.equal(await host.pendingBytes(vm, diskId, second.disks[0]!.trackingId), Math.ceil(4096 / g) * g);

        assert.ok((await host.pendingBytes(vm, diskId, undefined)) > 0, 'without a point: the full copy the disk needs');
        await assert.rejects(host.pendingBytes(vm, diskId, 'rct-or-point-never-issued'), (e: unknown) => isResyncRequired(e));
        await assert.rejects(host.pendingBytes(vm, 'no-such-disk', since), (e: unknown) => (e as { code?: string }).code === 'ERR_NOT_FOUND');
      } finally {
        await f.cleanup();
      }
    });
  });
}
