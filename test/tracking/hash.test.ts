/** The hash tracker's parts: manifest format, parallel hashing of a real file, diffing. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RawFileImage } from '../../src/host/raw-image.js';
import { VhdxImage } from '../../src/host/vhdx-image.js';
import { hashImage, hashRanges } from '../../src/tracking/hash/hash-image.js';
import { HashPool } from '../../src/tracking/hash/hash-pool.js';
import { createDisk, openDisk } from '../../src/vhdx/index.js';
import {
  decodeManifest,
  diffManifestBlocks,
  diffManifests,
  diffRangeDigests,
  encodeManifest,
  ManifestError,
  manifestId,
  validateBlockSize,
  zeroDigest,
  type HashManifest,
} from '../../src/tracking/hash/manifest.js';
import { tempDir } from '../helpers/paths.js';
import { patternBytes } from './contract.js';

const KiB = 1024;

function expectedDigests(data: Buffer, blockSize: number, algorithm: string): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length; at += blockSize) {
    parts.push(createHash(algorithm).update(data.subarray(at, Math.min(data.length, at + blockSize))).digest().subarray(0, 32));
  }
  return Buffer.concat(parts);
}

describe('hash manifest', () => {
  const manifest: HashManifest = { algorithm: 'sha256', blockSize: 4096, virtualSize: 3 * 4096 + 512, digests: Buffer.alloc(4 * 32, 7) };

  it('round-trips through its binary format', () => {
    const bytes = encodeManifest(manifest);
    assert.equal(bytes.subarray(0, 8).toString('latin1'), 'HVRHMAN1');
    assert.equal(bytes.length, 40 + 4 * 32 + 32);
    assert.deepEqual(decodeManifest(bytes), manifest);
  });

  it('refuses damaged, truncated and foreign manifests with a message that says what is wrong', () => {
    const bytes = encodeManifest(manifest);
    const damaged = Buffer.from(bytes);
    damaged[50]! ^= 1;
    assert.throws(() => decodeManifest(damaged), (e: unknown) => e instanceof ManifestError && /damaged/.test(e.message));
    assert.throws(() => decodeManifest(bytes.subarray(0, bytes.length - 1)), /truncated/);
    assert.throws(() => decodeManifest(Buffer.alloc(100)), /not an hvreplica hash manifest/);
  });

  it('accepts only power-of-two block sizes from 4 KiB to 64 MiB', () => {
    assert.doesNotThrow(() => validateBlockSize(4096));
    assert.throws(() => validateBlockSize(3000), /power of two/);
    assert.throws(() => validateBlockSize(2048), /from 4096/);
    assert.throws(() => validateBlockSize(128 * 1024 * 1024), /64 MiB/);
  });

  it('diffs two manifests into coalesced extents, marking zero blocks', () => {
    const a: HashManifest = { ...manifest, digests: Buffer.alloc(4 * 32, 1) };
    const b: HashManifest = { ...manifest, digests: Buffer.from(a.digests) };
    b.digests.fill(2, 32, 96); // blocks 1 and 2
    zeroDigest('sha256', 512).copy(b.digests, 96); // the short last block now reads zeros
    assert.deepEqual(
      [...diffManifests(a, b)],
      [
        { offset: 4096, length: 2 * 4096, kind: 'data' },
        { offset: 3 * 4096, length: 512, kind: 'zero' },
      ],
    );
    assert.throws(() => [...diffManifests(a, { ...b, blockSize: 8192, digests: Buffer.alloc(2 * 32) })], /not comparable/);
  });

  it('diffs a part of two manifests: the parts together give what the whole diff gives', () => {
    const a: HashManifest = { ...manifest, digests: Buffer.alloc(4 * 32, 1) };
    const b: HashManifest = { ...manifest, digests: Buffer.from(a.digests) };
    b.digests.fill(2, 0, 32).fill(2, 64, 96); // blocks 0 and 2
    assert.deepEqual([...diffManifestBlocks(a, b, 1, 2)], []);
    assert.deepEqual([...diffManifestBlocks(a, b, 1, 4)], [{ offset: 2 * 4096, length: 4096, kind: 'data' }]);
    assert.deepEqual([...diffManifestBlocks(a, b, 0, 1), ...diffManifestBlocks(a, b, 1, 4)], [...diffManifests(a, b)]);
    assert.throws(() => [...diffManifestBlocks(a, b, 2, 5)], /not within the manifest's 4 blocks/);
  });
});

describe('hashImage', () => {
  it('hashes a raw file on several workers exactly as a sequential SHA-256 and BLAKE2b would', async () => {
    const dir = tempDir('hash-image');
    try {
      const data = Buffer.concat([patternBytes(700 * KiB, 1), Buffer.alloc(300 * KiB), patternBytes(24 * KiB, 2)]);
      const path = join(dir.path, 'disk.raw');
      writeFileSync(path, data);
      const image = await RawFileImage.open(path);
      try {
        const sha = await hashImage(image, { blockSize: 64 * KiB, parallelism: 3, windowSize: 128 * KiB });
        assert.equal(sha.virtualSize, data.length);
        assert.ok(sha.digests.equals(expectedDigests(data, 64 * KiB, 'sha256')));
        const blake = await hashImage(image, { blockSize: 16 * KiB, algorithm: 'blake2b', parallelism: 2 });
        assert.ok(blake.digests.equals(expectedDigests(data, 16 * KiB, 'blake2b512')));
        assert.notEqual(manifestId(sha), manifestId({ ...sha, digests: Buffer.alloc(sha.digests.length) }));
      } finally {
        await image.close();
      }
    } finally {
      dir.cleanup();
    }
  });

  it('reports, as it goes, a rising block below which every digest is final (a comparison may start there)', async () => {
    const dir = tempDir('hash-image');
    try {
      // Data, a hole the allocation map reports (never read), data again: 16 KiB blocks, 16 KiB windows.
      const data = Buffer.concat([patternBytes(200 * KiB, 3), Buffer.alloc(160 * KiB), patternBytes(100 * KiB, 4)]);
      const path = join(dir.path, 'disk.raw');
      writeFileSync(path, data);
      const raw = await RawFileImage.open(path);
      const image = Object.assign(Object.create(raw) as RawFileImage, {
        allocation: async () => [
          { offset: 0, length: 208 * KiB, state: 'data' as const },
          { offset: 208 * KiB, length: 144 * KiB, state: 'absent' as const },
          { offset: 352 * KiB, length: data.length - 352 * KiB, state: 'data' as const },
        ],
      });
      try {
        const blockSize = 16 * KiB;
        const expected = expectedDigests(data, blockSize, 'sha256');
        const seen: number[] = [];
        const manifest = await hashImage(image, {
          blockSize,
          parallelism: 2,
          windowSize: 16 * KiB,
          onSettled: (below, partial) => {
            // What is below is final already, whatever is still being hashed above it.
            assert.ok(partial.digests.subarray(0, below * 32).equals(expected.subarray(0, below * 32)), `digests below block ${below} are final`);
            seen.push(below);
          },
        });
        const count = Math.ceil(data.length / blockSize);
        assert.ok(manifest.digests.equals(expected));
        assert.equal(seen.at(-1), count);
        assert.ok(seen.length >= 2 && seen[0]! < count, `reported before the end: ${seen.join(', ')}`);
        assert.ok(seen.every((b, i) => i === 0 || b > seen[i - 1]!), `rising: ${seen.join(', ')}`);
      } finally {
        await raw.close();
      }
    } finally {
      dir.cleanup();
    }
  });

  it('refuses a raw file that is not whole sectors', async () => {
    const dir = tempDir('hash-image');
    try {
      const path = join(dir.path, 'odd.raw');
      writeFileSync(path, Buffer.alloc(1000));
      await assert.rejects(RawFileImage.open(path), (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_ARGUMENT');
    } finally {
      dir.cleanup();
    }
  });
});

/** The SHA-256 of every `blockSize` block of `ranges` of `data`, concatenated (what hashRanges must give). */
function expectedRangeDigests(data: Buffer, ranges: Array<{ offset: number; length: number }>, blockSize: number): Buffer {
  return Buffer.concat(ranges.map((r) => expectedDigests(data.subarray(r.offset, r.offset + r.length), blockSize, 'sha256')));
}

describe('hashRanges and the two-level comparison', () => {
  it('digests ranges of sparse and differencing VHDX chains exactly as SHA-256 of what they read', async () => {
    const dir = tempDir('hash-ranges');
    try {
      const size = 8 * 1024 * KiB;
      const base = join(dir.path, 'base.vhdx');
      const child = join(dir.path, 'child.avhdx');
      // A dynamic disk with 1 MiB blocks: data in two places, the rest never written (sparse).
      await createDisk(base, { type: 'dynamic', virtualSize: size, blockSize: 1024 * KiB });
      let disk = await openDisk(base, { writable: true });
      await disk.write(0, patternBytes(1536 * KiB, 3));
      await disk.write(5 * 1024 * KiB, patternBytes(64 * KiB, 4));
      await disk.close();
      // A differencing child over it: small writes in a parent block, in a sparse region, and a zeroed range.
      await createDisk(child, { type: 'differencing', parentPath: base });
      disk = await openDisk(child, { writable: true });
      await disk.write(4 * KiB, patternBytes(8 * KiB, 5));
      await disk.write(3 * 1024 * KiB + 512, patternBytes(3 * KiB, 6));
      await disk.zero(1024 * KiB, 64 * KiB);
      await disk.close();

      for (const path of [base, child]) {
        const image = await VhdxImage.open(path);
        try {
          const whole = await image.read(0, size);
          const ranges = [
            { offset: 0, length: 128 * KiB },
            { offset: 1024 * KiB, length: 64 * KiB },
            { offset: 3 * 1024 * KiB, length: 64 * KiB },
            { offset: 5 * 1024 * KiB, length: size - 5 * 1024 * KiB },
          ];
          // A window smaller than a range, and a shared pool left open, as the replica server uses it.
          const pool = new HashPool('sha256', 2);
          try {
            const digests = await hashRanges(image, ranges, { blockSize: 4 * KiB, pool, windowSize: 48 * KiB });
            assert.ok(digests.equals(expectedRangeDigests(whole, ranges, 4 * KiB)), `digests of ${path}`);
          } finally {
            await pool.close();
          }
          const manifest = await hashImage(image, { blockSize: 64 * KiB, parallelism: 2 });
          assert.ok(manifest.digests.equals(expectedDigests(whole, 64 * KiB, 'sha256')), `manifest of ${path} (sparse blocks get the zero digest unread)`);
          await assert.rejects(hashRanges(image, [{ offset: 2 * KiB, length: 4 * KiB }], { blockSize: 4 * KiB }), /block boundaries/);
          await assert.rejects(hashRanges(image, [{ offset: 8 * KiB, length: 4 * KiB }, { offset: 0, length: 4 * KiB }], { blockSize: 4 * KiB }), /overlaps or precedes/);
          await assert.rejects(hashRanges(image, [{ offset: size - 4 * KiB, length: 8 * KiB }], { blockSize: 4 * KiB }), /passes the end/);
        } finally {
          await image.close();
        }
      }
    } finally {
      dir.cleanup();
    }
  });

  it('finds exactly the fine blocks that differ inside the coarse blocks that differ', async () => {
    const dir = tempDir('hash-ranges');
    try {
      const size = 1024 * KiB + 2 * KiB; // a short last block at both levels
      const before = Buffer.concat([patternBytes(size - 100 * KiB, 7), Buffer.alloc(100 * KiB)]);
      const after = Buffer.from(before);
      patternBytes(512, 8).copy(after, 70 * KiB + 100); // one 4 KiB block inside coarse block 1
      patternBytes(6 * KiB, 9).copy(after, 130 * KiB); // straddles two 4 KiB blocks of coarse block 2
      after.fill(0, 300 * KiB, 308 * KiB); // two 4 KiB blocks now read zeros
      patternBytes(1024, 10).copy(after, size - 1024); // the short tail
      const paths = [join(dir.path, 'before.raw'), join(dir.path, 'after.raw')];
      writeFileSync(paths[0]!, before);
      writeFileSync(paths[1]!, after);
      const [a, b] = await Promise.all(paths.map((p) => RawFileImage.open(p)));
      try {
        const coarse = [...diffManifests(await hashImage(a!, { blockSize: 64 * KiB }), await hashImage(b!, { blockSize: 64 * KiB }))];
        assert.deepEqual(coarse.map((e) => [e.offset / KiB, e.length / KiB]), [[64, 128], [256, 64], [1024, 2]]);
        const ranges = coarse.map((e) => ({ offset: e.offset, length: e.length }));
        const [theirs, ours] = await Promise.all([hashRanges(a!, ranges, { blockSize: 4 * KiB }), hashRanges(b!, ranges, { blockSize: 4 * KiB })]);
        const fine = [...diffRangeDigests(ranges, theirs, ours, { algorithm: 'sha256', blockSize: 4 * KiB, virtualSize: size })];
        assert.deepEqual(fine, [
          { offset: 68 * KiB, length: 4 * KiB, kind: 'data' },
          { offset: 128 * KiB, length: 8 * KiB, kind: 'data' },
          { offset: 300 * KiB, length: 8 * KiB, kind: 'zero' },
          { offset: 1024 * KiB, length: 2 * KiB, kind: 'data' },
        ]);
        assert.throws(() => [...diffRangeDigests(ranges, theirs, ours.subarray(32), { algorithm: 'sha256', blockSize: 4 * KiB, virtualSize: size })], /digests cover/);
      } finally {
        await Promise.all([a!.close(), b!.close()]);
      }
    } finally {
      dir.cleanup();
    }
  });
});
