// Writes past the page cache (openDisk's unbufferedWrites: O_DIRECT on Linux) land exactly as buffered ones:
// pieces at arbitrary addresses and of odd lengths (copied into aligned bounce buffers), heads and tails that
// are not aligned (through the cache beside them), a write over a range still in flight, reads right after the
// writes, and the same bytes after a flush and a reopen. Where the file system takes no unbuffered writes
// (tmpfs) the same writes go through the cache. Real files on the real file systems, no stand-ins.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createDisk, openDisk, type VhdxDisk } from '../../src/vhdx/index.js';
import { MiB } from './helpers.js';

const SIZE = 48 * MiB;
const TMPFS_MAGIC = 0x01021994;

/** `data` cut into pieces of `size` bytes (the last one shorter): views at unaligned addresses. */
function pieces(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return out;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes into `disk` and `model` alike: the checks compare the disk with the model. */
async function write(disk: VhdxDisk, model: Buffer, offset: number, parts: Buffer[]): Promise<void> {
  await disk.write(offset, parts);
  Buffer.concat(parts).copy(model, offset);
}

/** Every shape of write the staging disk sees and some it does not; returns the model of the disk after them. */
async function writeShapes(disk: VhdxDisk): Promise<Buffer> {
  const model = Buffer.alloc(SIZE);
  // A record's payload as HTTP/2 frames hand it over: 16 KiB + 9 pieces, aligned start, across blocks.
  await write(disk, model, 0, pieces(randomBytes(8 * MiB), 16393));
  // Over the end of that one, which may still be in flight: the later write lands last.
  await write(disk, model, 6 * MiB + 4096, pieces(randomBytes(2 * MiB), 65536 + 1));
  // Read back while the last pieces may still be in flight.
  assert.equal(sha256(await disk.read(5 * MiB, 4 * MiB)), sha256(model.subarray(5 * MiB, 9 * MiB)), 'read right after the writes');
  // Unaligned head (not even a sector) and an odd length: the tail's partial sector is merged.
  await write(disk, model, 10 * MiB + 100, pieces(randomBytes(5 * MiB + 777), 9973));
  // Sector aligned but not page aligned at either end.
  await write(disk, model, 20 * MiB + 512, pieces(randomBytes(3 * MiB), 1 << 20));
  // One buffer, and pieces of one byte and of none among large ones.
  await write(disk, model, 30 * MiB, [randomBytes(4 * MiB)]);
  const mixed = randomBytes(3 * MiB);
  await write(disk, model, 36 * MiB, [mixed.subarray(0, 1), Buffer.alloc(0), mixed.subarray(1, 2 * MiB + 3), Buffer.alloc(0), mixed.subarray(2 * MiB + 3)]);
  // Small: only the cache.
  await write(disk, model, 40 * MiB + 3, [randomBytes(1000)]);
  // The last block, up to the disk's end.
  await write(disk, model, SIZE - 3 * MiB - 4096, pieces(randomBytes(3 * MiB + 4096), 16393));
  return model;
}

async function writeAndCheck(dir: string, expectUnbuffered: boolean): Promise<void> {
  const path = join(dir, 'disk.vhdx');
  await createDisk(path, { type: 'dynamic', virtualSize: SIZE, blockSize: 2 * MiB });
  const disk = await openDisk(path, { writable: true, unbufferedWrites: true });
  let model: Buffer;
  try {
    assert.equal(disk.writesUnbuffered(), expectUnbuffered, `writes past the page cache at ${dir}`);
    model = await writeShapes(disk);
    assert.equal(sha256(await disk.read(0, SIZE)), sha256(model), 'the whole disk before the flush');
    await disk.flush();
    assert.equal(disk.writesUnbuffered(), expectUnbuffered, 'no fallback on the way');
    assert.equal(sha256(await disk.read(0, SIZE)), sha256(model), 'the whole disk after the flush');
  } finally {
    await disk.close();
  }
  const again = await openDisk(path);
  try {
    assert.equal(sha256(await again.read(0, SIZE)), sha256(model), 'the whole disk after a reopen');
  } finally {
    await again.close();
  }
}

describe('VHDX unbuffered writes', () => {
  const made: string[] = [];
  after(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  const scratchIn = (parent: string): string => {
    const dir = mkdtempSync(join(parent, 'hvr-vhdx-unbuffered-'));
    made.push(dir);
    return dir;
  };

  it('land exactly where the file system takes them, whatever the shape of the pieces', async () => {
    // A disk-backed file system (ext4, xfs, btrfs); the temporary directory is one on the machines this runs on.
    const parent = process.env.HVR_TEST_DIRECT_IO_DIR ?? tmpdir();
    assert.notEqual(statfsSync(parent).type, TMPFS_MAGIC, `${parent} is tmpfs: set HVR_TEST_DIRECT_IO_DIR to a directory on a disk`);
    await writeAndCheck(scratchIn(parent), true);
  });

  it('keep the order of writes to one range, and reads right after a write see it', async () => {
    const parent = process.env.HVR_TEST_DIRECT_IO_DIR ?? tmpdir();
    const path = join(scratchIn(parent), 'again.vhdx');
    await createDisk(path, { type: 'dynamic', virtualSize: 16 * MiB, blockSize: 2 * MiB });
    const disk = await openDisk(path, { writable: true, unbufferedWrites: true });
    let last = Buffer.alloc(0);
    try {
      assert.equal(disk.writesUnbuffered(), true);
      // Each write returns once its bytes are in the engine's buffers: the next one, over the same range, is
      // queued while the one before is still being written, many times over.
      for (let round = 0; round < 24; round++) {
        last = randomBytes(3 * MiB);
        await disk.write(4 * MiB, pieces(last, 16393));
        if (round % 2 === 1) assert.equal(sha256(await disk.read(4 * MiB, last.length)), sha256(last), `read right after write ${round}`);
      }
      await disk.flush();
    } finally {
      await disk.close();
    }
    const again = await openDisk(path);
    try {
      assert.equal(sha256(await again.read(4 * MiB, last.length)), sha256(last), 'the last write after a reopen');
    } finally {
      await again.close();
    }
  });

  it('keep that order every time when each write is held in flight (a test hook): writes, reads, flush and close wait for it', async () => {
    const parent = process.env.HVR_TEST_DIRECT_IO_DIR ?? tmpdir();
    const path = join(scratchIn(parent), 'held.vhdx');
    await createDisk(path, { type: 'dynamic', virtualSize: 16 * MiB, blockSize: 2 * MiB });
    // Read once, when the disk opens: every unbuffered write of this disk waits 40 ms before it starts, so an access
    // that does not wait for it lands before it, and is undone by it, in every run.
    process.env.HVR_TEST_HOLD_UNBUFFERED_WRITES_MS = '40';
    const disk = await openDisk(path, { writable: true, unbufferedWrites: true }).finally(() => delete process.env.HVR_TEST_HOLD_UNBUFFERED_WRITES_MS);
    const model = Buffer.alloc(16 * MiB);
    try {
      assert.equal(disk.writesUnbuffered(), true);
      // Held in flight after the call returns; a small write into its middle goes through the cache and must wait.
      await write(disk, model, 4 * MiB, pieces(randomBytes(2 * MiB), 16393));
      await write(disk, model, 4 * MiB + 1000, [Buffer.alloc(100, 0xbb)]);
      assert.equal(sha256(await disk.read(4 * MiB, 2 * MiB)), sha256(model.subarray(4 * MiB, 6 * MiB)), 'the small write landed last');
      // A read right after a held write sees it.
      await write(disk, model, 8 * MiB, [randomBytes(MiB)]);
      assert.equal(sha256(await disk.read(8 * MiB, MiB)), sha256(model.subarray(8 * MiB, 9 * MiB)), 'the read waited for the write');
      // An unbuffered write over one still held lands after it.
      await write(disk, model, 8 * MiB, [randomBytes(MiB)]);
      // Closed with the last write still held: the close waits for it (the flush inside it too).
      await write(disk, model, 12 * MiB, pieces(randomBytes(2 * MiB), 65537));
    } finally {
      await disk.close();
    }
    const again = await openDisk(path);
    try {
      assert.equal(sha256(await again.read(0, 16 * MiB)), sha256(model), 'every write, in its order, after a reopen');
    } finally {
      await again.close();
    }
  });

  it('go through the page cache on tmpfs, which takes no unbuffered writes, with the same result', async () => {
    assert.ok(existsSync('/dev/shm') && statfsSync('/dev/shm').type === TMPFS_MAGIC, '/dev/shm must be a tmpfs for this test');
    await writeAndCheck(scratchIn('/dev/shm'), false);
  });

  it('are used only when asked for, and only for writing', async () => {
    const dir = scratchIn(tmpdir());
    const path = join(dir, 'plain.vhdx');
    await createDisk(path, { type: 'dynamic', virtualSize: 8 * MiB });
    for (const options of [{ writable: true }, { writable: false, unbufferedWrites: true }]) {
      const disk = await openDisk(path, options);
      try {
        assert.equal(disk.writesUnbuffered(), false, JSON.stringify(options));
      } finally {
        await disk.close();
      }
    }
  });
});
