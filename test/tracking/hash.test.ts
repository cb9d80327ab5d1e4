/** The hash tracker's parts: manifest format, parallel hashing of a real file, diffing. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RawFileImage } from '../../src/host/raw-image.js';
import { hashImage } from '../../src/tracking/hash/hash-image.js';
import {
  decodeManifest,
  diffManifests,
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
