// VhdxDisk.apply with 'copy' changes (Disk::WriteFromFile): bytes copied from a file into the disk land exactly
// as write() of the same bytes does, whatever the source offset (unaligned, as a payload after its record header
// in a log), the length (odd, partial sectors), the place (across block boundaries, into new and allocated
// blocks, into the base and into a differencing layer over a parent), in order with the writes, zeroes and
// trims around them; and they stay after reopening. The same through a source on another file system (where
// Linux refuses copy_file_range and the engine copies through a buffer). Refusals say what is wrong.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createDisk, openDisk, type DiskChange, type VhdxDisk } from '../../src/vhdx/index.js';
import { vhdxBinding, type RawVhdxHandle } from '../../src/vhdx/binding-types.js';
import { MiB, scratch } from './helpers.js';

const SIZE = 8 * MiB;

/** Where each copy takes its bytes in the source file (odd places, none sector-aligned). */
interface Piece {
  offset: number;
  bytes: Buffer;
}

/** Copies and other changes over a disk of 1 MiB blocks; the copies' bytes come from `source` at odd places. */
function plan(): { source: Buffer; changes: DiskChange[] } {
  const pieces: Piece[] = [
    // Crosses the boundary of blocks 0 and 1, whole sectors.
    { offset: MiB - 3 * 512, bytes: randomBytes(MiB + 4096) },
    // Odd length at an unaligned offset: partial sectors at both ends.
    { offset: 3 * MiB + 300, bytes: randomBytes(1001) },
    // A whole block.
    { offset: 4 * MiB, bytes: randomBytes(MiB) },
    // One sector at the disk's end.
    { offset: SIZE - 512, bytes: randomBytes(512) },
    // Within one block, over the first copy: the later change wins.
    { offset: MiB + 512, bytes: randomBytes(8192) },
    // Crosses three blocks.
    { offset: 5 * MiB + 4096, bytes: randomBytes(2 * MiB) },
  ];
  // Back to back in the source, each after 57 bytes of something else (as a record header lies before its payload).
  const parts: Buffer[] = [];
  const copies: DiskChange[] = [];
  let length = 0;
  for (const piece of pieces) {
    const gap = randomBytes(57);
    parts.push(gap, piece.bytes);
    copies.push({ type: 'copy', offset: piece.offset, length: piece.bytes.length, sourceOffset: length + gap.length });
    length += gap.length + piece.bytes.length;
  }
  const [c0, c1, c2, c3, c4, c5] = copies as [DiskChange, DiskChange, DiskChange, DiskChange, DiskChange, DiskChange];
  const changes: DiskChange[] = [
    c0,
    { type: 'zero', offset: 2 * MiB, length: MiB },
    c1,
    c2,
    { type: 'data', offset: 4 * MiB + 512, pieces: [randomBytes(1024)] },
    c3,
    c4,
    { type: 'trim', offset: 6 * MiB, length: MiB },
    c5,
  ];
  return { source: Buffer.concat(parts), changes };
}

/** The same changes with every copy made a write of its bytes from memory: the reference. */
function asWrites(changes: readonly DiskChange[], source: Buffer): DiskChange[] {
  return changes.map((c) => (c.type === 'copy' ? { type: 'data', offset: c.offset, pieces: [source.subarray(c.sourceOffset, c.sourceOffset + c.length)] } : c));
}

async function makeDisk(path: string, type: 'dynamic' | 'differencing'): Promise<void> {
  if (type === 'dynamic') {
    await createDisk(path, { type: 'dynamic', virtualSize: SIZE, blockSize: MiB });
    return;
  }
  // A parent with data in some blocks (so that partial writes into the child need its sector bitmaps) and not others.
  const parent = `${path}.parent.vhdx`;
  await createDisk(parent, { type: 'dynamic', virtualSize: SIZE, blockSize: MiB });
  const p = await openDisk(parent, { writable: true });
  await p.write(0, Buffer.alloc(4 * MiB, 0x5a));
  await p.write(6 * MiB, Buffer.alloc(MiB, 0x6b));
  await p.close();
  await createDisk(path, { type: 'differencing', parentPath: parent, blockSize: MiB });
}

async function readWhole(disk: VhdxDisk): Promise<Buffer> {
  return disk.read(0, disk.info.virtualSize);
}

/** Applies `changes` to a new disk at `copied` (with `source`) and their write-only twin to one at `written`; both must read the same. */
async function compare(dir: string, type: 'dynamic' | 'differencing', sourcePath: string, changes: DiskChange[], sourceBytes: Buffer, name: string): Promise<void> {
  const paths = { copied: join(dir, `${name}-copied.vhdx`), written: join(dir, `${name}-written.vhdx`) };
  for (const path of Object.values(paths)) await makeDisk(path, type);
  const copied = await openDisk(paths.copied, { writable: true });
  const written = await openDisk(paths.written, { writable: true });
  try {
    await copied.apply(changes, sourcePath);
    await written.apply(asWrites(changes, sourceBytes));
    assert.ok((await readWhole(copied)).equals(await readWhole(written)), 'copied and written disks read the same');
    assert.deepEqual(await copied.map({ layerOnly: true }), await written.map({ layerOnly: true }), 'the same blocks and sectors are present');
  } finally {
    await copied.close();
    await written.close();
  }
  const again = await openDisk(paths.copied);
  const reference = await openDisk(paths.written);
  try {
    assert.ok((await readWhole(again)).equals(await readWhole(reference)), 'the same after reopening');
  } finally {
    await again.close();
    await reference.close();
  }
}

describe('VHDX apply: copies from a file', () => {
  const dir = scratch('copy-from-file');
  after(() => dir.cleanup());

  for (const type of ['dynamic', 'differencing'] as const) {
    it(`lands exactly as writes of the same bytes, in a ${type} disk, and stays after reopening`, async () => {
      const { source, changes } = plan();
      const sourcePath = join(dir.path, `${type}.source`);
      await writeFile(sourcePath, source);
      await compare(dir.path, type, sourcePath, changes, source, type);
    });
  }

  it('lands the same from a source on another file system (copied through a buffer where the kernel cannot)', async () => {
    // /dev/shm is a tmpfs on Linux; the disk is under the temporary directory's file system.
    const shm = '/dev/shm';
    assert.notEqual(statSync(shm).dev, statSync(dir.path).dev, `${shm} must be another file system than ${dir.path} for this test`);
    const elsewhere = await mkdtemp(join(shm, 'hvr-copy-source-'));
    try {
      const { source, changes } = plan();
      const sourcePath = join(elsewhere, 'source');
      await writeFile(sourcePath, source);
      for (const type of ['dynamic', 'differencing'] as const) await compare(dir.path, type, sourcePath, changes, source, `elsewhere-${type}`);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('copies more than a kernel call or a buffer takes at once (12 MiB across 7 blocks) exactly', async () => {
    const big = 12 * MiB;
    const path = join(dir.path, 'big.vhdx');
    await createDisk(path, { type: 'dynamic', virtualSize: 16 * MiB, blockSize: 2 * MiB });
    const bytes = randomBytes(big + 99);
    const sourcePath = join(dir.path, 'big.source');
    await writeFile(sourcePath, bytes);
    const disk = await openDisk(path, { writable: true });
    try {
      await disk.apply([{ type: 'copy', offset: MiB + 4096, length: big, sourceOffset: 99 }], sourcePath);
      assert.ok((await disk.read(MiB + 4096, big)).equals(bytes.subarray(99)));
      assert.ok((await disk.read(0, MiB + 4096)).equals(Buffer.alloc(MiB + 4096)), 'nothing before the copy');
    } finally {
      await disk.close();
    }
  });

  it('refuses copies without a source, from a missing file, beyond the source, outside the disk, or malformed, saying what is wrong', async () => {
    const path = join(dir.path, 'refuse.vhdx');
    await createDisk(path, { type: 'dynamic', virtualSize: SIZE, blockSize: MiB });
    const sourcePath = join(dir.path, 'refuse.source');
    await writeFile(sourcePath, randomBytes(4096));
    const disk = await openDisk(path, { writable: true });
    try {
      await assert.rejects(disk.apply([{ type: 'copy', offset: 0, length: 512, sourceOffset: 0 }]), { code: 'ERR_INVALID_ARGUMENT', message: /a copy needs the source file/ });
      await assert.rejects(disk.apply([{ type: 'copy', offset: 0, length: 512, sourceOffset: 0 }], join(dir.path, 'missing.source')), (e: { code?: string; message?: string }) => e.code === 'ERR_NOT_FOUND' || /missing\.source/.test(e.message ?? ''));
      await assert.rejects(disk.apply([{ type: 'copy', offset: 0, length: 8192, sourceOffset: 0 }], sourcePath), { code: 'ERR_IO', message: /truncated/ });
      await assert.rejects(disk.apply([{ type: 'copy', offset: SIZE - 512, length: 1024, sourceOffset: 0 }], sourcePath), { code: 'ERR_INVALID_ARGUMENT', message: /outside the virtual disk/ });
      await assert.rejects(disk.apply([{ type: 'copy', offset: 0, length: 512, sourceOffset: -1 }], sourcePath), { code: 'ERR_INVALID_ARGUMENT' });
      const handle = (disk as unknown as { handle: RawVhdxHandle }).handle;
      const raw = vhdxBinding();
      await assert.rejects(async () => raw.vhdxApplyChanges(handle, new Float64Array([3, 0, 512]), [], sourcePath, new Float64Array([])), /fewer source offsets than copies/);
      await assert.rejects(async () => raw.vhdxApplyChanges(handle, new Float64Array([1, 0, 512]), [], sourcePath, new Float64Array([0])), /more source offsets than copies/);
      await assert.rejects(async () => raw.vhdxApplyChanges(handle, new Float64Array([3, 0, 512]), [], sourcePath), /Usage: vhdxApplyChanges/);
      assert.deepEqual(await disk.map({ layerOnly: true }), [{ offset: 0, length: SIZE, state: 'absent' }], 'nothing refused was written');
    } finally {
      await disk.close();
    }
    const readOnly = await openDisk(path);
    try {
      await assert.rejects(readOnly.apply([{ type: 'copy', offset: 0, length: 512, sourceOffset: 0 }], sourcePath), { code: 'ERR_VHDX_READ_ONLY' });
    } finally {
      await readOnly.close();
    }
  });
});
