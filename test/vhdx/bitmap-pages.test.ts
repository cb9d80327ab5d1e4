// Sector bitmaps are read and written one 4 KiB page at a time: a differencing layer whose writes touch
// more bitmap pages than the cache keeps (1024), cross page boundaries inside one large block, and sit
// in several 4 GiB chunks must map and read with sector precision, during the session and after reopen.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createDisk, openDisk, type Extent } from '../../src/vhdx/index.js';
import { MiB, scratch } from './helpers.js';

const GiB = 1024 * MiB;
const PAGE_SPAN = 16 * MiB; // virtual bytes one 4 KiB bitmap page covers at 512-byte sectors

describe('sector bitmap pages', () => {
  const dir = scratch('bitmap-pages');
  after(() => dir.cleanup());

  it('maps and reads exactly what was written across more pages than the cache holds', async () => {
    const size = 20 * GiB;
    const base = join(dir.path, 'base.vhdx');
    const child = join(dir.path, 'child.avhdx');
    await createDisk(base, { type: 'dynamic', virtualSize: size });
    const b = await openDisk(base, { writable: true });
    await b.write(3 * PAGE_SPAN, Buffer.alloc(MiB, 0x11)); // parent data that must show through
    await b.close();
    await createDisk(child, { type: 'differencing', parentPath: base });
    const writes: Array<{ offset: number; data: Buffer }> = [];
    // One short write per bitmap page (1200 pages > 1024 cached), at shifting sector positions.
    for (let k = 0; k < 1200; k++) {
      const offset = k * PAGE_SPAN + ((k * 7919) % 2000) * 512;
      writes.push({ offset, data: Buffer.alloc(512 * (1 + (k % 5)), 1 + (k % 250)) });
    }
    // Across the boundary of two bitmap pages (and two 2 MiB blocks) at 32 MiB, and across a chunk end.
    writes.push({ offset: 2 * PAGE_SPAN - 1536, data: Buffer.alloc(4096, 0xab) });
    writes.push({ offset: 4 * GiB - 1024, data: Buffer.alloc(2048, 0xcd) });
    const disk = await openDisk(child, { writable: true });
    for (const w of writes) await disk.write(w.offset, w.data);
    const expected = writes
      .map((w) => ({ offset: w.offset, length: w.data.length }))
      .sort((x, y) => x.offset - y.offset)
      .reduce<Array<{ offset: number; length: number }>>((out, e) => {
        const last = out.at(-1);
        if (last && last.offset + last.length >= e.offset) last.length = Math.max(last.length, e.offset + e.length - last.offset);
        else out.push({ ...e });
        return out;
      }, []);
    const check = async (label: string, d: typeof disk): Promise<void> => {
      const data = (await d.map({ layerOnly: true })).filter((e: Extent) => e.state === 'data');
      assert.deepEqual(data.map((e) => ({ offset: e.offset, length: e.length })), expected, `${label}: layer map`);
      for (const w of writes) assert.ok((await d.read(w.offset, w.data.length)).equals(w.data), `${label}: read at ${w.offset}`);
      // Around each write the parent shows through (zeros, or the parent's 0x11 block).
      const around = await d.read(3 * PAGE_SPAN + 512 * 2001, 512);
      assert.ok(around.equals(Buffer.alloc(512, 0x11)), `${label}: the parent's data shows beside a written sector`);
    };
    await check('in session', disk);
    await disk.close();
    const reopened = await openDisk(child);
    try {
      await check('after reopen', reopened);
    } finally {
      await reopened.close();
    }
  });
});
