// Damaged and hostile files: each is refused with a typed error that says what is wrong, never a crash,
// a hang or an unbounded allocation. Files start from a valid engine-made disk and are patched (with
// checksums recomputed where the damage is meant to get past them).
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkDisk, createDisk, openDisk } from '../../src/vhdx/index.js';
import { crc32c } from './crc32c.js';
import { MiB, scratch } from './helpers.js';

const KiB = 1024;
const H1 = 64 * KiB;
const H2 = 128 * KiB;
const RT1 = 192 * KiB;
const RT2 = 256 * KiB;
const META = 2 * MiB; // engine layout: log @1 MiB, metadata @2 MiB, BAT @3 MiB
const BAT = 3 * MiB;

function sealHeader(buf: Buffer, at: number): void {
  buf.writeUInt32LE(0, at + 4);
  buf.writeUInt32LE(crc32c(buf.subarray(at, at + 4096)), at + 4);
}

function sealRegionTable(buf: Buffer, at: number): void {
  buf.writeUInt32LE(0, at + 4);
  buf.writeUInt32LE(crc32c(buf.subarray(at, at + 64 * KiB)), at + 4);
}

/** Offset of the metadata table entry with this GUID's first stored byte pattern. */
function metadataEntry(buf: Buffer, guidBytes: number[]): number {
  const count = buf.readUInt16LE(META + 10);
  for (let i = 0; i < count; i++) {
    const at = META + 32 + i * 32;
    if (guidBytes.every((b, k) => buf[at + k] === b)) return at;
  }
  throw new Error('metadata entry not found');
}

const FILE_PARAMETERS = [0x37, 0x67, 0xa1, 0xca];
const LOGICAL_SECTOR = [0x1d, 0xbf, 0x41, 0x81];

describe('bad input is refused with typed errors', () => {
  const dir = scratch('bad');
  let good = Buffer.alloc(0);
  let n = 0;
  after(() => dir.cleanup());

  before(async () => {
    const path = join(dir.path, 'good.vhdx');
    await createDisk(path, { type: 'dynamic', virtualSize: 16 * MiB, blockSize: MiB });
    const disk = await openDisk(path, { writable: true });
    await disk.write(0, Buffer.alloc(MiB, 0x11));
    await disk.write(9 * MiB, Buffer.alloc(MiB, 0x22));
    await disk.close();
    good = readFileSync(path);
  });

  async function expectError(mutate: (b: Buffer) => Buffer, code: string, pattern: RegExp): Promise<void> {
    const path = join(dir.path, `bad-${n++}.vhdx`);
    writeFileSync(path, mutate(Buffer.from(good)));
    await assert.rejects(openDisk(path), (e: Error & { code?: string }) => {
      assert.equal(e.code, code, e.message);
      assert.match(e.message, pattern);
      return true;
    });
    const report = await checkDisk(path);
    assert.equal(report.ok, false, 'disk check must report the same file as bad');
  }

  async function expectOpens(mutate: (b: Buffer) => Buffer): Promise<void> {
    const path = join(dir.path, `ok-${n++}.vhdx`);
    writeFileSync(path, mutate(Buffer.from(good)));
    const disk = await openDisk(path);
    try {
      assert.ok((await disk.read(9 * MiB, 4096)).every((b) => b === 0x22));
    } finally {
      await disk.close();
    }
  }

  it('an empty file, a foreign file and a file cut inside the header section', async () => {
    await expectError(() => Buffer.alloc(0), 'ERR_VHDX_CORRUPT', /shorter than the 1 MiB VHDX header section/);
    await expectError(() => Buffer.alloc(2 * MiB, 0x41), 'ERR_VHDX_CORRUPT', /'vhdxfile' is missing/);
    await expectError((b) => b.subarray(0, 700 * KiB), 'ERR_VHDX_CORRUPT', /header section/);
  });

  it('a file truncated so that BAT entries point past its end', async () => {
    await expectError((b) => b.subarray(0, b.length - 512 * KiB), 'ERR_VHDX_CORRUPT', /past the end of the file/);
    const path = join(dir.path, 'trunc-check.vhdx');
    copyFileSync(join(dir.path, 'good.vhdx'), path);
    truncateSync(path, good.length - MiB);
    const report = await checkDisk(path);
    assert.ok(report.errors.some((e) => /points past the end of the file/.test(e)), report.errors.join('; '));
  });

  it('bad header checksums: one is survivable, two are not', async () => {
    await expectOpens((b) => {
      b[H1 + 100] ^= 0xff;
      return b;
    });
    await expectError((b) => {
      b[H1 + 100] ^= 0xff;
      b[H2 + 100] ^= 0xff;
      return b;
    }, 'ERR_VHDX_CORRUPT', /neither of the two headers/);
  });

  it('equal header sequence numbers with different contents', async () => {
    await expectError((b) => {
      const seq = b.readBigUInt64LE(H1 + 8);
      b.writeBigUInt64LE(seq, H2 + 8);
      b[H2 + 20] ^= 1; // a different FileWriteGuid
      sealHeader(b, H1);
      sealHeader(b, H2);
      return b;
    }, 'ERR_VHDX_CORRUPT', /both headers carry sequence number/);
  });

  it('a damaged first region table falls back to the copy; both damaged is refused', async () => {
    await expectOpens((b) => {
      b[RT1 + 40] ^= 0xff;
      return b;
    });
    await expectError((b) => {
      b[RT1 + 40] ^= 0xff;
      b[RT2 + 40] ^= 0xff;
      return b;
    }, 'ERR_VHDX_CORRUPT', /region table/);
  });

  it('oversized, overlapping and unknown required regions', async () => {
    const patchRegions = (edit: (b: Buffer) => void) => (b: Buffer) => {
      for (const at of [RT1, RT2]) {
        const copy = Buffer.from(b.subarray(RT1, RT1 + 64 * KiB));
        copy.copy(b, at);
      }
      edit(b);
      b.copy(b, RT2, RT1, RT1 + 64 * KiB);
      sealRegionTable(b, RT1);
      sealRegionTable(b, RT2);
      return b;
    };
    // Entry 0 is the BAT region (engine layout); entry 1 the metadata region.
    await expectError(patchRegions((b) => b.writeUInt32LE(0xfff00000, RT1 + 16 + 24)), 'ERR_VHDX_CORRUPT', /past the end of the file/);
    await expectError(patchRegions((b) => b.writeBigUInt64LE(BigInt(META), RT1 + 16 + 16)), 'ERR_VHDX_CORRUPT', /overlap/);
    await expectError(patchRegions((b) => b.writeBigUInt64LE(BigInt(MiB), RT1 + 16 + 16)), 'ERR_VHDX_CORRUPT', /overlap/);
    await expectError(patchRegions((b) => b.writeUInt32LE(9999, RT1 + 8)), 'ERR_VHDX_CORRUPT', /at most 2047/);
    await expectError(
      patchRegions((b) => {
        b[RT1 + 16 + 32] ^= 0x55; // metadata region GUID → unknown, still required
      }),
      'ERR_VHDX_UNSUPPORTED',
      /unknown required region/,
    );
  });

  it('unknown required metadata, bad block size, bad sector size, overlapping items', async () => {
    await expectError((b) => {
      b[metadataEntry(b, LOGICAL_SECTOR)] ^= 0x5a;
      return b;
    }, 'ERR_VHDX_UNSUPPORTED', /unknown required metadata item/);
    await expectError((b) => {
      const e = metadataEntry(b, FILE_PARAMETERS);
      b.writeUInt32LE(3 * MiB, META + b.readUInt32LE(e + 16));
      return b;
    }, 'ERR_VHDX_CORRUPT', /block size/);
    await expectError((b) => {
      const e = metadataEntry(b, LOGICAL_SECTOR);
      b.writeUInt32LE(1000, META + b.readUInt32LE(e + 16));
      return b;
    }, 'ERR_VHDX_CORRUPT', /logical sector size/);
    await expectError((b) => {
      const e = metadataEntry(b, LOGICAL_SECTOR);
      b.writeUInt32LE(b.readUInt32LE(metadataEntry(b, FILE_PARAMETERS) + 16), e + 16);
      return b;
    }, 'ERR_VHDX_CORRUPT', /overlap|wrong length/);
    await expectError((b) => {
      const e = metadataEntry(b, FILE_PARAMETERS);
      b.writeUInt32LE(0x7fffffff, e + 16);
      return b;
    }, 'ERR_VHDX_CORRUPT', /outside the metadata region/);
  });

  it('BAT entries past the end, with invalid states, or sharing one block', async () => {
    await expectError((b) => {
      b.writeBigUInt64LE((BigInt(4000) << 20n) | 6n, BAT + 8 * 3);
      return b;
    }, 'ERR_VHDX_CORRUPT', /block 3 points past the end of the file/);
    await expectError((b) => {
      b.writeBigUInt64LE(4n, BAT + 8 * 2);
      return b;
    }, 'ERR_VHDX_CORRUPT', /invalid state/);
    await expectError((b) => {
      b.writeBigUInt64LE(b.readBigUInt64LE(BAT), BAT + 8 * 5);
      return b;
    }, 'ERR_VHDX_CORRUPT', /overlap/);
    await expectError((b) => {
      b.writeBigUInt64LE((1n << 20n) | 6n, BAT + 8 * 5); // on top of the log
      return b;
    }, 'ERR_VHDX_CORRUPT', /overlap/);
  });

  it('an active LogGuid without any log entry for it', async () => {
    await expectError((b) => {
      for (const at of [H1, H2]) {
        b.fill(0x77, at + 48, at + 64);
        sealHeader(b, at);
      }
      return b;
    }, 'ERR_VHDX_CORRUPT', /no valid entry sequence/);
  });

  it('an unsupported version', async () => {
    await expectError((b) => {
      for (const at of [H1, H2]) {
        b.writeUInt16LE(2, at + 66);
        sealHeader(b, at);
      }
      return b;
    }, 'ERR_VHDX_UNSUPPORTED', /version 2/);
  });

  it('argument errors: out-of-range reads, writes on a read-only disk, calls after close', async () => {
    const path = join(dir.path, 'good.vhdx');
    const disk = await openDisk(path);
    await assert.rejects(disk.read(16 * MiB - 10, 20), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(disk.read(-1, 20), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(disk.write(0, Buffer.alloc(512)), { code: 'ERR_VHDX_READ_ONLY' });
    await disk.close();
    await assert.rejects(disk.read(0, 512), { code: 'ERR_VHDX_CLOSED' });
    await assert.rejects(openDisk(join(dir.path, 'nope.vhdx')), { code: 'ERR_NOT_FOUND' });
    await assert.rejects(createDisk(path, { type: 'dynamic', virtualSize: MiB }), { code: 'ERR_ALREADY_EXISTS' });
    await assert.rejects(createDisk(join(dir.path, 'bs.vhdx'), { type: 'dynamic', virtualSize: MiB, blockSize: 3 * MiB }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
    await assert.rejects(createDisk(join(dir.path, 'vs.vhdx'), { type: 'dynamic', virtualSize: 1000 }), { code: 'ERR_INVALID_ARGUMENT' });
  });
});
