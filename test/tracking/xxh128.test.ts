/**
 * The addon's XXH3-128 (native/src/hash/xxh128.cc, xxHash header-only): xxHash's own sanity vectors, windows
 * of blocks against single digests in 32-byte manifest slots, a changed bit seen in its block only, and its
 * use as a manifest algorithm. The vectors are the seed-0 rows of XSUM_XXH128_testdata in xxHash's
 * cli/xsum_sanity_check.c (input: its sanity buffer, below), written in the canonical form `xxhsum -H2`
 * prints (high 64 bits, then low 64 bits, big-endian); they cover every length class of XXH3 (1–3, 4–8,
 * 9–16, 17–128, 129–240 bytes, one block, several blocks, a last stripe overlapping).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { xxh128, xxh128Blocks } from '../../src/native/xxh128.js';
import { digestOf } from '../../src/tracking/hash/block-digest.js';
import { HashPool } from '../../src/tracking/hash/hash-pool.js';
import { decodeManifest, diffManifests, encodeManifest, hashImage } from '../../src/tracking/index.js';
import { ContentModel } from './content-model.js';
import { MemoryImage } from './memory-image.js';

const PRIME32 = 2654435761n;
const PRIME64 = 11400714785074694797n;

/** xxHash's sanity buffer: byte i is the top byte of PRIME32 × PRIME64^i (mod 2^64). */
function sanityBuffer(length: number): Buffer {
  const buffer = Buffer.alloc(length);
  let generator = PRIME32;
  for (let i = 0; i < length; i++) {
    buffer[i] = Number(generator >> 56n);
    generator = (generator * PRIME64) & 0xffff_ffff_ffff_ffffn;
  }
  return buffer;
}

// [length, low64, high64] as the table has them.
const VECTORS: Array<[number, string, string]> = [
  [0, '6001C324468D497F', '99AA06D3014798D8'],
  [1, 'C44BDFF4074EECDB', 'A6CD5E9392000F6A'],
  [6, '3E7039BDDA43CFC6', '082AFE0B8162D12A'],
  [12, '061A192713F69AD9', '6E3EFD8FC7802B18'],
  [24, '1E7044D28B1B901D', '0CE966E4678D3761'],
  [48, 'F942219AED80F67B', 'A002AC4E5478227E'],
  [81, '5E8BAFB9F95FB803', '4952F58181AB0042'],
  [222, 'F1AEBD597CEC6B3A', '337E09641B948717'],
  [403, 'CDEB804D65C6DEA4', '1B6DE21E332DD73D'],
  [512, '617E49599013CB6B', '18D2D110DCC9BCA1'],
  [2048, 'DD59E2C3A5F038E0', 'F736557FD47073A5'],
  [2240, '6E73A90539CF2948', 'CCB134FBFA7CE49D'],
  [2367, 'CB37AEB9E5D361ED', 'E89C0F6FF369B427'],
];

function imageOf(data: Buffer): MemoryImage {
  const model = new ContentModel(data.length);
  model.write(0, data);
  return new MemoryImage(model);
}

describe('XXH3-128 of the addon', () => {
  it("matches xxHash's sanity test vectors (seed 0), in canonical form", () => {
    const input = sanityBuffer(2367);
    for (const [length, low, high] of VECTORS) assert.equal(xxh128(input.subarray(0, length)).toString('hex'), (high + low).toLowerCase(), `${length} bytes`);
    // What `xxhsum -H2` prints for "abc" (the same canonical form, from bytes anyone can type).
    assert.equal(xxh128(Buffer.from('abc')).toString('hex'), '06b05ab6733a618578af5f94892f3950');
  });

  it('digests a window of blocks as each block on its own, each in a 32-byte slot ending in 16 zero bytes', async () => {
    const data = randomBytes(5 * 65536 + 1000);
    for (const blockSize of [4096, 65536]) {
      const digests = await xxh128Blocks(data, blockSize);
      const count = Math.ceil(data.length / blockSize);
      assert.equal(digests.length, count * 32);
      for (let i = 0; i < count; i++) {
        const block = data.subarray(i * blockSize, Math.min(data.length, (i + 1) * blockSize));
        const slot = digests.subarray(i * 32, (i + 1) * 32);
        assert.ok(slot.subarray(0, 16).equals(xxh128(block)), `block ${i} of ${blockSize}`);
        assert.ok(slot.subarray(16).equals(Buffer.alloc(16)), `block ${i}: the rest of the slot is zero`);
        assert.ok(slot.equals(digestOf('xxh128', block)), `block ${i}: the same slot as a single digest`);
      }
    }
    assert.equal((await xxh128Blocks(Buffer.alloc(0), 4096)).length, 0);
    assert.throws(() => xxh128Blocks(data, 0), RangeError);
  });

  it('sees a single changed bit in the block that holds it, and in no other', async () => {
    const blockSize = 65536;
    const before = randomBytes(16 * blockSize);
    const after = Buffer.from(before);
    after[9 * blockSize + 12345]! ^= 0x10;
    const [a, b] = [await xxh128Blocks(before, blockSize), await xxh128Blocks(after, blockSize)];
    const differing = [...Array(16).keys()].filter((i) => !a.subarray(i * 32, (i + 1) * 32).equals(b.subarray(i * 32, (i + 1) * 32)));
    assert.deepEqual(differing, [9]);
  });

  it('is a manifest algorithm: hashImage finds the differing blocks, the manifest round-trips, comparing with BLAKE3 is refused', async () => {
    const size = 3 * 1024 * 1024 + 4096;
    const base = randomBytes(size);
    const changed = Buffer.from(base);
    changed.fill(7, 1_000_000, 1_000_100);
    const pool = new HashPool('xxh128', 2);
    try {
      const [a, b] = [await hashImage(imageOf(base), { blockSize: 65536, pool }), await hashImage(imageOf(changed), { blockSize: 65536, pool })];
      assert.equal(a.algorithm, 'xxh128');
      assert.deepEqual([...diffManifests(a, b)].map((e) => [e.offset, e.length]), [[Math.floor(1_000_000 / 65536) * 65536, 65536]]);
      assert.deepEqual(decodeManifest(encodeManifest(a)), a, 'algorithm number 4 in the manifest header');
      const other = await hashImage(imageOf(base), { blockSize: 65536, algorithm: 'blake3', parallelism: 1 });
      assert.throws(() => [...diffManifests(other, a)], /not comparable: blake3.* vs xxh128/);
    } finally {
      await pool.close();
    }
  });
});
