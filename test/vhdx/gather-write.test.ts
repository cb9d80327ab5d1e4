// A write given as several buffers (a record's payload as it arrived in network chunks) lands exactly as
// the same bytes written in one buffer: across a block boundary, with pieces that split sectors, and with
// a total that is not whole sectors.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createDisk, openDisk } from '../../src/vhdx/index.js';
import { MiB, scratch } from './helpers.js';

/** `data` cut at the given lengths (the last piece takes the rest). */
function cut(data: Buffer, lengths: number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let at = 0;
  for (const length of lengths) {
    pieces.push(data.subarray(at, at + length));
    at += length;
  }
  pieces.push(data.subarray(at));
  return pieces;
}

describe('VHDX gather write', () => {
  const dir = scratch('gather');
  after(() => dir.cleanup());

  it('writes pieces back to back, as one buffer of the same bytes would be', async () => {
    const path = join(dir.path, 'pieces.vhdx');
    await createDisk(path, { type: 'dynamic', virtualSize: 8 * MiB, blockSize: MiB });
    const disk = await openDisk(path, { writable: true });
    try {
      // Across the first block boundary, pieces of odd sizes that split sectors.
      const across = randomBytes(MiB);
      await disk.write(MiB / 2, cut(across, [1, 511, 16384, 333, 200_000, 7]));
      // A total that is not whole sectors: merged with what the disk shows around it.
      const ragged = randomBytes(1000);
      await disk.write(3 * MiB + 100, cut(ragged, [10, 490, 1]));
      // One piece, and none at all.
      const single = randomBytes(4096);
      await disk.write(5 * MiB, [single]);
      await disk.write(6 * MiB, []);

      assert.deepEqual(await disk.read(MiB / 2, MiB), across);
      const around = await disk.read(3 * MiB, 2048);
      assert.deepEqual(around.subarray(100, 1100), ragged);
      assert.ok(around.subarray(0, 100).every((b) => b === 0) && around.subarray(1100).every((b) => b === 0), 'bytes around a ragged write stay as they were');
      assert.deepEqual(await disk.read(5 * MiB, 4096), single);
      assert.ok((await disk.read(6 * MiB, 4096)).every((b) => b === 0), 'an empty list writes nothing');
    } finally {
      await disk.close();
    }
  });

  it('writes more pieces than one gathered system call takes, empty ones among them, into new and present blocks', async () => {
    const path = join(dir.path, 'many.vhdx');
    await createDisk(path, { type: 'dynamic', virtualSize: 8 * MiB, blockSize: MiB });
    const disk = await openDisk(path, { writable: true });
    try {
      // 3072 pieces of 512 bytes (IOV_MAX is 1024 on Linux), every tenth followed by an empty one, across two
      // block boundaries: the first pass allocates the blocks, the second writes over them where they are.
      for (const round of [0, 1]) {
        const data = randomBytes(3 * 512 * 1024);
        const pieces: Buffer[] = [];
        for (let at = 0, i = 0; at < data.length; at += 512, i += 1) {
          pieces.push(data.subarray(at, at + 512));
          if (i % 10 === 0) pieces.push(Buffer.alloc(0));
        }
        await disk.write(MiB / 2 + round * 4096, pieces);
        assert.deepEqual(await disk.read(MiB / 2 + round * 4096, data.length), data, `round ${round}`);
      }
      await disk.flush();
    } finally {
      await disk.close();
    }
    const again = await openDisk(path);
    try {
      assert.equal((await again.read(0, MiB / 2 + 4096)).subarray(0, MiB / 2).every((b) => b === 0), true, 'bytes before the writes stay zero');
    } finally {
      await again.close();
    }
  });

  it('refuses a list holding something other than bytes', async () => {
    const path = join(dir.path, 'refuse.vhdx');
    await createDisk(path, { type: 'dynamic', virtualSize: 8 * MiB, blockSize: MiB });
    const disk = await openDisk(path, { writable: true });
    try {
      await assert.rejects(disk.write(0, [Buffer.alloc(512), 'text' as unknown as Buffer]), /Usage: vhdxWrite/);
    } finally {
      await disk.close();
    }
  });
});
