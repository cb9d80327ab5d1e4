// VhdxDisk.apply: a list of writes, zeroes and trims in one call lands exactly as the same calls made one
// after another would: in order (a later change over an earlier one wins), across block boundaries, with
// partial sectors, in a differencing layer over a parent; and it refuses a malformed list before writing.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createDisk, openDisk, type DiskChange, type VhdxDisk } from '../../src/vhdx/index.js';
import { vhdxBinding, type RawVhdxHandle } from '../../src/vhdx/binding-types.js';
import { MiB, scratch } from './helpers.js';

/** The same changes made one call at a time, the reference for apply(). */
async function oneByOne(disk: VhdxDisk, changes: readonly DiskChange[]): Promise<void> {
  for (const c of changes) {
    if (c.type === 'data') await disk.write(c.offset, c.pieces);
    else if (c.type === 'zero') await disk.zero(c.offset, c.length);
    else await disk.trim(c.offset, c.length);
  }
}

async function readWhole(disk: VhdxDisk): Promise<Buffer> {
  return disk.read(0, disk.info.virtualSize);
}

describe('VHDX apply (changes in one call)', () => {
  const dir = scratch('apply-changes');
  after(() => dir.cleanup());

  const changes = (): DiskChange[] => {
    const a = randomBytes(3 * MiB);
    return [
      { type: 'data', offset: 0, pieces: [a.subarray(0, 1000), a.subarray(1000)] },
      // Over the first write: the later change wins where they overlap.
      { type: 'data', offset: MiB / 2, pieces: [randomBytes(64 * 1024)] },
      { type: 'zero', offset: MiB, length: MiB },
      { type: 'data', offset: MiB + 4096, pieces: [randomBytes(512)] },
      // A whole block trimmed, then partly written again.
      { type: 'trim', offset: 2 * MiB, length: MiB },
      { type: 'data', offset: 2 * MiB + 8192, pieces: [randomBytes(4096)] },
      // Partial sectors, merged with what the disk shows around them.
      { type: 'data', offset: 5 * MiB + 100, pieces: [randomBytes(10), randomBytes(1)] },
      // Nothing at all.
      { type: 'data', offset: 6 * MiB, pieces: [] },
    ];
  };

  for (const type of ['dynamic', 'differencing'] as const) {
    it(`lands exactly as the same calls one after another, in a ${type} disk, and stays after reopening`, async () => {
      const list = changes();
      const paths = { batched: join(dir.path, `${type}-batched.vhdx`), single: join(dir.path, `${type}-single.vhdx`) };
      for (const path of Object.values(paths)) {
        if (type === 'dynamic') {
          await createDisk(path, { type: 'dynamic', virtualSize: 8 * MiB, blockSize: MiB });
        } else {
          const parent = `${path}.parent.vhdx`;
          await createDisk(parent, { type: 'dynamic', virtualSize: 8 * MiB, blockSize: MiB });
          const p = await openDisk(parent, { writable: true });
          await p.write(0, Buffer.alloc(8 * MiB, 0x5a));
          await p.close();
          await createDisk(path, { type: 'differencing', parentPath: parent });
        }
      }
      const batched = await openDisk(paths.batched, { writable: true });
      const single = await openDisk(paths.single, { writable: true });
      try {
        await batched.apply(list);
        await oneByOne(single, list);
        assert.deepEqual(await readWhole(batched), await readWhole(single));
        assert.deepEqual(await batched.map({ layerOnly: true }), await single.map({ layerOnly: true }));
      } finally {
        await batched.close();
        await single.close();
      }
      const again = await openDisk(paths.batched);
      const reference = await openDisk(paths.single);
      try {
        assert.deepEqual(await readWhole(again), await readWhole(reference));
      } finally {
        await again.close();
        await reference.close();
      }
    });
  }

  it('applies an empty list as nothing', async () => {
    const path = join(dir.path, 'empty.vhdx');
    await createDisk(path, { type: 'dynamic', virtualSize: 8 * MiB, blockSize: MiB });
    const disk = await openDisk(path, { writable: true });
    try {
      await disk.apply([]);
      assert.deepEqual(await disk.map({ layerOnly: true }), [{ offset: 0, length: 8 * MiB, state: 'absent' }]);
    } finally {
      await disk.close();
    }
  });

  it('refuses changes outside the disk or on a read-only disk, and malformed raw lists, saying what is wrong', async () => {
    const path = join(dir.path, 'refuse.vhdx');
    await createDisk(path, { type: 'dynamic', virtualSize: 8 * MiB, blockSize: MiB });
    const disk = await openDisk(path, { writable: true });
    try {
      await assert.rejects(disk.apply([{ type: 'data', offset: 8 * MiB - 512, pieces: [Buffer.alloc(1024)] }]), /outside the virtual disk/);
      await assert.rejects(disk.apply([{ type: 'zero', offset: -1, length: 512 }]), { code: 'ERR_INVALID_ARGUMENT' });
      // A list whose later change lies outside the disk is refused whole: the changes before it are not made either.
      await assert.rejects(
        disk.apply([
          { type: 'data', offset: 0, pieces: [Buffer.alloc(4096, 7)] },
          { type: 'zero', offset: MiB, length: 512 },
          { type: 'trim', offset: 8 * MiB, length: 512 },
        ]),
        { code: 'ERR_INVALID_ARGUMENT', message: /trim: range .* is outside the virtual disk/ },
      );
      const handle = (disk as unknown as { handle: RawVhdxHandle }).handle;
      const raw = vhdxBinding();
      await assert.rejects(async () => raw.vhdxApplyChanges(handle, new Float64Array([0, 0, 512]), []), /fewer payloads than writes/);
      await assert.rejects(async () => raw.vhdxApplyChanges(handle, new Float64Array([0, 0, 512]), [Buffer.alloc(1024)]), /length differs/);
      await assert.rejects(async () => raw.vhdxApplyChanges(handle, new Float64Array([1, 0, 512]), [Buffer.alloc(512)]), /more payloads than writes/);
      await assert.rejects(async () => raw.vhdxApplyChanges(handle, new Float64Array([7, 0, 512]), []), /Usage: vhdxApplyChanges/);
      await assert.rejects(async () => raw.vhdxApplyChanges(handle, new Float64Array([0, 0]), []), /Usage: vhdxApplyChanges/);
      assert.deepEqual(await disk.map({ layerOnly: true }), [{ offset: 0, length: 8 * MiB, state: 'absent' }], 'nothing refused was written');
    } finally {
      await disk.close();
    }
    const readOnly = await openDisk(path);
    try {
      await assert.rejects(readOnly.apply([{ type: 'data', offset: 0, pieces: [Buffer.alloc(512)] }]), { code: 'ERR_VHDX_READ_ONLY' });
    } finally {
      await readOnly.close();
    }
  });
});
