// Several ranges read in one request (what a delta's read-ahead asks for) give exactly the bytes single reads
// give, through a differencing chain, back to back in the order asked; the optional digests are the BLAKE3 or
// XXH3-128 of each range; a request whose ranges do not fill the buffer, or that leaves the disk, is refused.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { blake3 } from '../../src/native/blake3.js';
import { xxh128 } from '../../src/native/xxh128.js';
import type { RangeDigests } from '../../src/native/block-hash.js';
import { createDisk, openDisk } from '../../src/vhdx/index.js';
import { vhdxBinding, type RawVhdxHandle } from '../../src/vhdx/binding-types.js';
import { MiB, scratch } from './helpers.js';

describe('VHDX reads of several ranges', () => {
  const dir = scratch('ranges');
  after(() => dir.cleanup());

  it('reads ranges of a chain back to back, as single reads would, with the BLAKE3 or XXH3-128 of each', async () => {
    const base = join(dir.path, 'base.vhdx');
    const child = join(dir.path, 'child.avhdx');
    await createDisk(base, { type: 'dynamic', virtualSize: 16 * MiB, blockSize: MiB });
    const parent = await openDisk(base, { writable: true });
    await parent.write(0, randomBytes(4 * MiB));
    await parent.close();
    await createDisk(child, { type: 'differencing', parentPath: base });
    const disk = await openDisk(child, { writable: true });
    try {
      // Child writes that cover part of a parent's sector run, so some ranges mix both layers.
      await disk.write(MiB - 4096, randomBytes(8192));
      await disk.write(3 * MiB + 512, randomBytes(1536));
      const ranges = [
        { offset: 3 * MiB, length: 4096 },
        { offset: MiB - 8192, length: 16384 },
        { offset: 10 * MiB, length: 512 }, // never written: zeros
        { offset: 0, length: 65536 },
        { offset: 5 * MiB - 512, length: 1024 }, // across a block boundary, half in unwritten space
      ];
      const total = ranges.reduce((sum, r) => sum + r.length, 0);
      const expected = { blake3: blake3, xxh128: (data: Buffer) => Buffer.concat([xxh128(data), Buffer.alloc(16)]) };
      for (const algorithm of ['blake3', 'xxh128'] as const) {
        const into = Buffer.alloc(total, 0xee);
        const slots = Buffer.alloc(ranges.length * 32, 0xee);
        await disk.readRanges(ranges, into, { algorithm, slots });
        let at = 0;
        for (const [i, range] of ranges.entries()) {
          const single = await disk.read(range.offset, range.length);
          assert.deepEqual(into.subarray(at, at + range.length), single, `range ${i} read as a single read reads it`);
          assert.deepEqual(slots.subarray(i * 32, i * 32 + 32), expected[algorithm](single), `${algorithm} digest ${i} (XXH3-128: then 16 zero bytes)`);
          at += range.length;
        }
      }
      // Without digests, and with one range only.
      const one = Buffer.alloc(4096);
      await disk.readRanges([{ offset: MiB - 4096, length: 4096 }], one);
      assert.deepEqual(one, await disk.read(MiB - 4096, 4096));
    } finally {
      await disk.close();
    }
  });

  it('refuses ranges that do not fill the buffer, digests of the wrong size and ranges beyond the disk', async () => {
    const path = join(dir.path, 'refuse.vhdx');
    await createDisk(path, { type: 'dynamic', virtualSize: 4 * MiB, blockSize: MiB });
    const disk = await openDisk(path, { writable: false });
    try {
      await assert.rejects(disk.readRanges([{ offset: 0, length: 512 }], Buffer.alloc(1024)), /add up to 512 bytes/);
      await assert.rejects(disk.readRanges([{ offset: 0, length: 512 }], Buffer.alloc(512), { algorithm: 'xxh128', slots: Buffer.alloc(31) }), /digests need 32 bytes/);
      const unknown = { algorithm: 'md5', slots: Buffer.alloc(32) } as unknown as RangeDigests;
      await assert.rejects(disk.readRanges([{ offset: 0, length: 512 }], Buffer.alloc(512), unknown), /'md5' is not a hash the engine computes/);
      await assert.rejects(disk.readRanges([{ offset: 4 * MiB - 512, length: 1024 }], Buffer.alloc(1024)));
      await assert.rejects(disk.readRanges([{ offset: -512, length: 512 }], Buffer.alloc(512)));
    } finally {
      await disk.close();
    }
  });

  it('refuses, in the binding itself, ranges whose lengths add up to the buffer only past 2^64 (they would read beyond it)', async () => {
    // 2^20 ranges of 16 TiB each (every one inside the disk) plus 512 bytes: 2^64 + 512, which a 64-bit sum
    // wraps to the 512-byte buffer's length. The TypeScript wrapper adds in doubles and refuses; the binding
    // is the last check before the pool thread writes 16 TiB into 512 bytes.
    const path = join(dir.path, 'huge.vhdx');
    const TiB = 1024 * 1024 * MiB;
    await createDisk(path, { type: 'dynamic', virtualSize: 16 * TiB, blockSize: 256 * MiB });
    const disk = await openDisk(path, { writable: false });
    try {
      const count = 2 ** 20;
      const flat = new Float64Array(count * 2 + 2);
      for (let i = 0; i < count; i++) flat[2 * i + 1] = 16 * TiB;
      flat[2 * count + 1] = 512;
      const handle = (disk as unknown as { handle: RawVhdxHandle }).handle;
      const into = Buffer.alloc(512);
      await assert.rejects(async () => vhdxBinding().vhdxReadRanges(handle, flat, into), /the ranges must add up to the buffer's length/);
    } finally {
      await disk.close();
    }
  });
});
