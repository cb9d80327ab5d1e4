// Differencing chains made by the engine: reads through every level agree with libvhdi, a layer's map
// has sector precision, parents resolve by relative path after the set moves, broken chains (missing
// parent, modified parent, loop) are refused with their own codes, and merges are exact and resumable.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createDisk, mergeDisk, openDisk, type Extent } from '../../src/vhdx/index.js';
import { diskSha256, libvhdiScript, MiB, prng, randomInt, requireLibvhdi, run, scratch } from './helpers.js';

const SIZE = 24 * MiB;

function sha(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Builds base ← l1 ← l2 with random sector-aligned writes and a zeroed range in each layer. */
async function buildChain(dir: string, seed: number): Promise<{ paths: string[]; expected: Buffer; layerWrites: Map<string, Buffer> }> {
  const next = prng(seed);
  const expected = Buffer.alloc(SIZE);
  const paths = [join(dir, 'base.vhdx'), join(dir, 'l1.avhdx'), join(dir, 'l2.avhdx')];
  const layerWrites = new Map<string, Buffer>();
  await createDisk(paths[0]!, { type: 'dynamic', virtualSize: SIZE, blockSize: 1 * MiB });
  for (const [level, path] of paths.entries()) {
    if (level > 0) await createDisk(path, { type: 'differencing', parentPath: paths[level - 1]! });
    const touched = Buffer.alloc(SIZE / 512); // 1 per sector written or zeroed in this layer
    const disk = await openDisk(path, { writable: true });
    for (let k = 0; k < 50; k++) {
      const off = randomInt(next, SIZE / 512 - 700) * 512;
      const len = 512 * (1 + randomInt(next, 600));
      const data = Buffer.alloc(len, 1 + randomInt(next, 255));
      await disk.write(off, data);
      data.copy(expected, off);
      touched.fill(1, off / 512, (off + len) / 512);
    }
    const z = randomInt(next, SIZE / 512 - 3000) * 512;
    await disk.zero(z, 2900 * 512);
    expected.fill(0, z, z + 2900 * 512);
    touched.fill(1, z / 512, z / 512 + 2900);
    await disk.close();
    layerWrites.set(path, touched);
  }
  return { paths, expected, layerWrites };
}

describe('differencing chains', () => {
  const dir = scratch('chains');
  after(() => dir.cleanup());

  it('read identically through the engine and through libvhdi, at every level', async () => {
    requireLibvhdi();
    const d = join(dir.path, 'libvhdi');
    mkdirSync(d);
    const { paths, expected } = await buildChain(d, 11);
    const top = await openDisk(paths[2]!);
    try {
      assert.deepEqual(top.info.chain, [...paths].reverse());
      assert.equal(top.info.parentPath, paths[1]);
      assert.equal(top.info.type, 'differencing');
      assert.equal(top.info.parentLocator?.relativePath, '.\\l1.avhdx');
      const base = await openDisk(paths[0]!);
      assert.equal(top.info.diskId, base.info.diskId, 'a child keeps the Virtual Disk ID of its parent');
      await base.close();
      assert.ok((await top.read(0, SIZE)).equals(expected));
    } finally {
      await top.close();
    }
    assert.equal(run('/usr/bin/python3', [libvhdiScript, ...[...paths].reverse()]).trim(), sha(expected));
    assert.equal(run('/usr/bin/python3', [libvhdiScript, paths[1]!, paths[0]!]).trim(),
      await (async () => { const m = await openDisk(paths[1]!); try { return await diskSha256(m); } finally { await m.close(); } })());
  });

  it('maps a layer with sector precision: exactly the sectors written or zeroed in it', async () => {
    const d = join(dir.path, 'map');
    mkdirSync(d);
    const { paths, layerWrites } = await buildChain(d, 12);
    for (const path of paths.slice(1)) {
      const disk = await openDisk(path);
      try {
        const extents = await disk.map({ layerOnly: true });
        const got = Buffer.alloc(SIZE / 512);
        let end = 0;
        for (const e of extents) {
          assert.equal(e.offset, end, 'extents are contiguous');
          end += e.length;
          if (e.state !== 'absent') got.fill(1, e.offset / 512, (e.offset + e.length) / 512);
        }
        assert.equal(end, SIZE);
        // Whole zeroed blocks become ZERO blocks, partial ones written zeros: both are changes of this layer.
        assert.ok(got.equals(layerWrites.get(path)!), `layer map of ${path}`);
        for (let i = 1; i < extents.length; i++) assert.notEqual(extents[i]!.state, extents[i - 1]!.state);
      } finally {
        await disk.close();
      }
    }
    const top = await openDisk(paths[2]!);
    try {
      const chain = await top.map();
      const all = chain.reduce((s: number, e: Extent) => s + e.length, 0);
      assert.equal(all, SIZE);
      assert.ok(chain.some((e) => e.state === 'data'));
    } finally {
      await top.close();
    }
  });

  it('finds parents by relative path after the whole set moves', async () => {
    const d = join(dir.path, 'moved');
    mkdirSync(join(d, 'sub'), { recursive: true });
    await createDisk(join(d, 'base.vhdx'), { type: 'dynamic', virtualSize: 8 * MiB, blockSize: MiB });
    const b = await openDisk(join(d, 'base.vhdx'), { writable: true });
    await b.write(0, Buffer.alloc(4096, 7));
    await b.close();
    await createDisk(join(d, 'sub', 'child.avhdx'), { type: 'differencing', parentPath: join(d, 'base.vhdx') });
    const moved = join(dir.path, 'moved2');
    renameSync(d, moved);
    const c = await openDisk(join(moved, 'sub', 'child.avhdx'));
    try {
      assert.equal(c.info.parentLocator?.relativePath, '..\\base.vhdx');
      assert.equal(c.info.parentPath, join(moved, 'base.vhdx'));
      assert.ok((await c.read(0, 4096)).every((x) => x === 7));
    } finally {
      await c.close();
    }
  });

  it('refuses a missing parent, a modified parent and a parent loop with their own codes', async () => {
    const d = join(dir.path, 'broken');
    mkdirSync(d);
    const x = join(d, 'x.vhdx');
    const a = join(d, 'a.vhdx');
    const b = join(d, 'b.vhdx');
    await createDisk(x, { type: 'dynamic', virtualSize: 8 * MiB, blockSize: MiB });
    await createDisk(a, { type: 'differencing', parentPath: x });
    await createDisk(b, { type: 'differencing', parentPath: a });

    // Loop: make a's locator name b (same name length, linkage = b's DataWriteGuid).
    const bInfo = await openDisk(b);
    const xInfo = await openDisk(x);
    const bGuid = bInfo.info.dataWriteGuid;
    const xGuid = xInfo.info.dataWriteGuid;
    await bInfo.close();
    await xInfo.close();
    const saved = readFileSync(a);
    const u16 = (s: string) => Buffer.from(s, 'utf16le');
    const patched = Buffer.from(saved);
    for (const [from, to] of [[u16('x.vhdx'), u16('b.vhdx')], [u16(xGuid), u16(bGuid)]] as const) {
      let at = patched.indexOf(from);
      assert.ok(at >= 0);
      while (at >= 0) {
        to.copy(patched, at);
        at = patched.indexOf(from, at + 1);
      }
    }
    writeFileSync(a, patched);
    await assert.rejects(openDisk(b), (e: Error & { code?: string }) => e.code === 'ERR_VHDX_PARENT_LOOP' && /loops/.test(e.message));
    writeFileSync(a, saved);

    // Modified parent: a write to x changes its DataWriteGuid, so a no longer matches it.
    const xw = await openDisk(x, { writable: true });
    await xw.write(0, Buffer.alloc(512, 1));
    await xw.close();
    await assert.rejects(openDisk(b), (e: Error & { code?: string }) => e.code === 'ERR_VHDX_PARENT_MISMATCH' && /restore the parent/.test(e.message));

    rmSync(x);
    await assert.rejects(openDisk(a), (e: Error & { code?: string }) => e.code === 'ERR_VHDX_PARENT_NOT_FOUND' && /x\.vhdx/.test(e.message));
  });

  it('merges a layer into its parent exactly; the parent alone then shows the child, and a rerun is harmless', async () => {
    const d = join(dir.path, 'merge');
    mkdirSync(d);
    const { paths, expected } = await buildChain(d, 13);
    await mergeDisk(paths[2]!);
    const parent = await openDisk(paths[1]!);
    try {
      assert.ok((await parent.read(0, SIZE)).equals(expected), 'l1 shows what l2 showed');
    } finally {
      await parent.close();
    }
    const child = await openDisk(paths[2]!);
    try {
      assert.ok((await child.read(0, SIZE)).equals(expected), 'the merged child still opens on its new parent');
    } finally {
      await child.close();
    }
    await mergeDisk(paths[2]!);
    await mergeDisk(paths[1]!);
    const base = await openDisk(paths[0]!);
    try {
      assert.ok((await base.read(0, SIZE)).equals(expected), 'base shows the whole chain');
    } finally {
      await base.close();
    }
    await assert.rejects(mergeDisk(paths[0]!), { code: 'ERR_INVALID_ARGUMENT' });
  });
});
