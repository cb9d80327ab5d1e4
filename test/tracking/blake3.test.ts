/**
 * The addon's BLAKE3 (native/src/hash/): the official test vectors on every code path this CPU has, the
 * paths against each other, whole windows of blocks against single digests, and that a changed byte is
 * seen. The vectors are the first 32 bytes of the `hash` outputs of BLAKE3's test_vectors.json (input:
 * bytes 0, 1, …, 250, 0, 1, … of the given length), which exercise one chunk, partial chunks and trees.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DiskImage } from '../../src/host/disk-image.js';
import { VhdxImage } from '../../src/host/vhdx-image.js';
import { blake3, blake3Blocks, blake3Paths } from '../../src/native/blake3.js';
import { HashPool } from '../../src/tracking/hash/hash-pool.js';
import { diffManifests, hashImage, hashRanges } from '../../src/tracking/index.js';
import { createDisk, openDisk } from '../../src/vhdx/index.js';
import { tempDir } from '../helpers/paths.js';
import { ContentModel } from './content-model.js';
import { MemoryImage } from './memory-image.js';

function imageOf(data: Buffer): MemoryImage {
  const model = new ContentModel(data.length);
  model.write(0, data);
  return new MemoryImage(model);
}

const VECTORS: Array<[number, string]> = [
  [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
  [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
  [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
  [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444'],
  [2048, 'e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a'],
  [2049, '5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030'],
  [3072, 'b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2'],
  [3073, '7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3'],
  [4096, '015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969'],
  [4097, '9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995'],
  [5120, '9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833'],
  [5121, '628bd2cb2004694adaab7bbd778a25df25c47b9d4155a55f8fbd79f2fe154cff'],
  [6144, '3e2e5b74e048f3add6d21faab3f83aa44d3b2278afb83b80b3c35164ebeca205'],
  [6145, 'f1323a8631446cc50536a9f705ee5cb619424d46887f3c376c695b70e0f0507f'],
  [7168, '61da957ec2499a95d6b8023e2b0e604ec7f6b50e80a9678b89d2628e99ada77a'],
  [7169, 'a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e7817'],
  [8192, 'aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a63'],
  [8193, 'bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b'],
  [16384, 'f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4'],
  [31744, '62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47'],
  [102400, 'bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085'],
];

function vectorInput(length: number): Buffer {
  const input = Buffer.alloc(length);
  for (let i = 0; i < length; i++) input[i] = i % 251;
  return input;
}

describe('BLAKE3 of the addon', () => {
  it('has the portable path everywhere and an x86-64 SIMD path where the CPU has one', () => {
    const paths = blake3Paths();
    assert.equal(paths.at(-1), 'portable');
    for (const path of paths) assert.ok(['avx512', 'avx2', 'portable'].includes(path), path);
    if (process.arch !== 'x64') assert.deepEqual(paths, ['portable']);
    // Where this machine's CPU (and OS) offer AVX2, the build must have the SIMD code: a build without it
    // would still pass every "paths agree" check below, trivially.
    if (process.arch === 'x64' && process.platform === 'linux') {
      const flags = readFileSync('/proc/cpuinfo', 'utf8');
      if (/\bavx2\b/.test(flags)) assert.ok(paths.includes('avx2'), `AVX2 is on this CPU but the addon offers ${paths.join(', ')}`);
      if (/\bavx512f\b/.test(flags)) assert.ok(paths.includes('avx512'), `AVX-512 is on this CPU but the addon offers ${paths.join(', ')}`);
    }
  });

  for (const path of blake3Paths()) {
    it(`matches the official test vectors (${path})`, () => {
      for (const [length, expected] of VECTORS) assert.equal(blake3(vectorInput(length), path).toString('hex'), expected, `${length} bytes`);
    });
  }

  it('every path gives the same digests of random data, at every length around chunk and lane boundaries', () => {
    const data = randomBytes(40 * 1024 + 3);
    const paths = blake3Paths();
    for (const length of [0, 63, 64, 65, 1024, 1088, 4096, 7 * 1024, 8 * 1024, 15 * 1024 + 1, 16 * 1024, 17 * 1024, 33 * 1024 - 5, data.length]) {
      const digests = paths.map((path) => blake3(data.subarray(0, length), path).toString('hex'));
      assert.equal(new Set(digests).size, 1, `${length} bytes: ${paths.join(', ')} disagree`);
    }
  });

  it('digests a window of blocks as each block on its own, on every path, the last block short', async () => {
    const data = randomBytes(5 * 65536 + 1000);
    for (const path of blake3Paths()) {
      for (const blockSize of [4096, 65536]) {
        const digests = await blake3Blocks(data, blockSize, path);
        const count = Math.ceil(data.length / blockSize);
        assert.equal(digests.length, count * 32);
        for (let i = 0; i < count; i++) {
          const block = data.subarray(i * blockSize, Math.min(data.length, (i + 1) * blockSize));
          assert.ok(digests.subarray(i * 32, (i + 1) * 32).equals(blake3(block, 'portable')), `${path}: block ${i} of ${blockSize}`);
        }
      }
    }
    assert.equal((await blake3Blocks(Buffer.alloc(0), 4096)).length, 0);
    assert.throws(() => blake3Blocks(data, 0), RangeError);
  });

  it('sees a single changed bit in the block that holds it, and in no other', async () => {
    const blockSize = 65536;
    const before = randomBytes(16 * blockSize);
    const after = Buffer.from(before);
    after[9 * blockSize + 12345]! ^= 0x10;
    for (const path of blake3Paths()) {
      const [a, b] = [await blake3Blocks(before, blockSize, path), await blake3Blocks(after, blockSize, path)];
      const differing = [...Array(16).keys()].filter((i) => !a.subarray(i * 32, (i + 1) * 32).equals(b.subarray(i * 32, (i + 1) * 32)));
      assert.deepEqual(differing, [9], path);
    }
  });

  it('is a manifest algorithm: hashImage with blake3 finds the differing blocks, and refuses comparing with SHA-256', async () => {
    const size = 4 * 1024 * 1024;
    const base = randomBytes(size);
    const changed = Buffer.from(base);
    changed.fill(7, 1_000_000, 1_000_100);
    const pool = new HashPool('blake3', 2);
    try {
      const [a, b] = [await hashImage(imageOf(base), { blockSize: 65536, pool }), await hashImage(imageOf(changed), { blockSize: 65536, pool })];
      assert.equal(a.algorithm, 'blake3');
      assert.deepEqual([...diffManifests(a, b)].map((e) => [e.offset, e.length]), [[Math.floor(1_000_000 / 65536) * 65536, 65536]]);
      const sha = await hashImage(imageOf(base), { blockSize: 65536, algorithm: 'sha256', parallelism: 1 });
      assert.throws(() => [...diffManifests(sha, a)], /not comparable: sha256.* vs blake3/);
    } finally {
      await pool.close();
    }
  });

  it('a VHDX reads and hashes in one native step (BLAKE3 and XXH3-128) with the same digests as reading windows and hashing them', async () => {
    const dir = tempDir('hvr-blake3-vhdx-');
    try {
      const path = join(dir.path, 'disk.vhdx');
      const size = 12 * 1024 * 1024 + 5 * 4096; // not a whole number of 64 KiB blocks: a short last block
      await createDisk(path, { type: 'dynamic', virtualSize: size, logicalSectorSize: 512, blockSize: 1024 * 1024 });
      const disk = await openDisk(path, { writable: true });
      await disk.write(0, randomBytes(3 * 1024 * 1024 + 777));
      await disk.write(7 * 1024 * 1024 + 4096, randomBytes(300_000)); // between them: blocks never written
      await disk.write(size - 8192, randomBytes(8192));
      await disk.close();
      const image = await VhdxImage.open(path);
      // The same image without the fused step: windows read into buffers, hashed by the pool.
      const windowed: DiskImage = { virtualSize: image.virtualSize, logicalSectorSize: image.logicalSectorSize, read: (o, l) => image.read(o, l), readInto: (o, b) => image.readInto(o, b), allocation: () => image.allocation(), close: async () => undefined };
      try {
        for (const algorithm of ['blake3', 'xxh128'] as const) {
          for (const blockSize of [4096, 65536, 1024 * 1024]) {
            const [fused, plain] = [await hashImage(image, { blockSize, algorithm, windowSize: 2 * 1024 * 1024 }), await hashImage(windowed, { blockSize, algorithm, windowSize: 2 * 1024 * 1024 })];
            assert.ok(fused.digests.equals(plain.digests), `${algorithm}: whole disk at ${blockSize}-byte blocks`);
          }
          const ranges = [{ offset: 0, length: 65536 }, { offset: 7 * 1024 * 1024, length: 3 * 65536 }, { offset: size - 5 * 4096, length: 5 * 4096 }];
          const options = { blockSize: 4096, algorithm };
          assert.ok((await hashRanges(image, ranges, options)).equals(await hashRanges(windowed, ranges, options)), `${algorithm}: ranges of 4 KiB blocks`);
          await assert.rejects(image.disk.hashBlocks(algorithm, 4096, 4096, 65536), RangeError);
        }
        await assert.rejects(image.disk.hashBlocks('md5' as 'blake3', 0, 4096, 4096), /not a block hash/);
      } finally {
        await image.close();
      }
      await assert.rejects(image.disk.hashBlocks('blake3', 0, 4096, 4096), /closed/);
    } finally {
      dir.cleanup();
    }
  });
});
