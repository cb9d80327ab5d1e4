/**
 * The block-hash manifest both sides of a comparison exchange (resync, initial replication against an
 * existing copy, the hash tracker's saved states).
 *
 * Binary layout, little-endian:
 *   0  char[8]  magic "HVRHMAN1"
 *   8  u32      format version (1)
 *  12  u32      algorithm (1 sha256, 2 blake2b-512 truncated to 256 bits, 3 blake3, 4 xxh128: XXH3-128 in the
 *               first 16 bytes of each digest, zero bytes after)
 *  16  u32      block size in bytes
 *  20  u32      digest size (32)
 *  24  u64      virtual size of the disk in bytes
 *  32  u64      block count = ceil(virtual size / block size)
 *  40  digest[block count]   digest of each block's bytes (the last block may be shorter)
 *  …   byte[32] SHA-256 of everything before it, so a truncated or damaged manifest is refused
 */
import { createHash } from 'node:crypto';
import { ALGORITHM_CODE, DIGEST_SIZE, HASH_ALGORITHMS, type HashAlgorithm } from './hash-algorithm.js';
import { digestOf } from './block-digest.js';
import { ExtentCoalescer } from '../extents.js';
import type { ChangedExtent } from '../change-tracker.js';

export const MANIFEST_MAGIC = 'HVRHMAN1';
export const MANIFEST_VERSION = 1;
const HEADER_SIZE = 40;
const TRAILER_SIZE = 32;

export const MIN_BLOCK_SIZE = 4096;
export const MAX_BLOCK_SIZE = 64 * 1024 * 1024;
/** 1 MiB keeps a 1 TiB disk's manifest at 32 MiB while a 1 % change still sends little more than 1 %. */
export const DEFAULT_BLOCK_SIZE = 1024 * 1024;

export interface HashManifest {
  algorithm: HashAlgorithm;
  blockSize: number;
  virtualSize: number;
  /** blockCount × 32 bytes. */
  digests: Buffer;
}

export class ManifestError extends Error {
  readonly code = 'ERR_MANIFEST_INVALID' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

export function blockCountOf(virtualSize: number, blockSize: number): number {
  return Math.ceil(virtualSize / blockSize);
}

export function validateBlockSize(blockSize: number): void {
  const powerOfTwo = Number.isSafeInteger(blockSize) && blockSize > 0 && (blockSize & (blockSize - 1)) === 0;
  if (!powerOfTwo || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE) {
    throw new ManifestError(
      `block size ${blockSize} is not valid: use a power of two from ${MIN_BLOCK_SIZE} (4 KiB) to ${MAX_BLOCK_SIZE} (64 MiB)`,
    );
  }
}

export function encodeManifest(manifest: HashManifest): Buffer {
  const count = blockCountOf(manifest.virtualSize, manifest.blockSize);
  if (manifest.digests.length !== count * DIGEST_SIZE) {
    throw new ManifestError(`manifest has ${manifest.digests.length / DIGEST_SIZE} digests, expected ${count}`);
  }
  const header = Buffer.alloc(HEADER_SIZE);
  header.write(MANIFEST_MAGIC, 0, 'latin1');
  header.writeUInt32LE(MANIFEST_VERSION, 8);
  header.writeUInt32LE(ALGORITHM_CODE[manifest.algorithm], 12);
  header.writeUInt32LE(manifest.blockSize, 16);
  header.writeUInt32LE(DIGEST_SIZE, 20);
  header.writeBigUInt64LE(BigInt(manifest.virtualSize), 24);
  header.writeBigUInt64LE(BigInt(count), 32);
  const trailer = createHash('sha256').update(header).update(manifest.digests).digest();
  return Buffer.concat([header, manifest.digests, trailer]);
}

export function decodeManifest(bytes: Buffer, origin = 'manifest'): HashManifest {
  if (bytes.length < HEADER_SIZE + TRAILER_SIZE || bytes.toString('latin1', 0, 8) !== MANIFEST_MAGIC) {
    throw new ManifestError(`${origin} is not an hvreplica hash manifest (bad magic or too short)`);
  }
  const version = bytes.readUInt32LE(8);
  if (version !== MANIFEST_VERSION) {
    throw new ManifestError(`${origin} has format version ${version}; this hvreplica reads version ${MANIFEST_VERSION}: upgrade it`);
  }
  const code = bytes.readUInt32LE(12);
  const algorithm = HASH_ALGORITHMS.find((a) => ALGORITHM_CODE[a] === code);
  if (!algorithm) throw new ManifestError(`${origin} uses unknown hash algorithm number ${code}`);
  const blockSize = bytes.readUInt32LE(16);
  validateBlockSize(blockSize);
  if (bytes.readUInt32LE(20) !== DIGEST_SIZE) throw new ManifestError(`${origin} has digest size ${bytes.readUInt32LE(20)}, expected ${DIGEST_SIZE}`);
  const virtualSize = Number(bytes.readBigUInt64LE(24));
  const count = Number(bytes.readBigUInt64LE(32));
  if (count !== blockCountOf(virtualSize, blockSize) || bytes.length !== HEADER_SIZE + count * DIGEST_SIZE + TRAILER_SIZE) {
    throw new ManifestError(`${origin} is truncated or its block count does not match its size`);
  }
  const end = HEADER_SIZE + count * DIGEST_SIZE;
  const expected = createHash('sha256').update(bytes.subarray(0, end)).digest();
  if (!expected.equals(bytes.subarray(end))) throw new ManifestError(`${origin} is damaged: its checksum does not match`);
  return { algorithm, blockSize, virtualSize, digests: Buffer.from(bytes.subarray(HEADER_SIZE, end)) };
}

/** A short stable name for the content a manifest describes (same content, same id). */
export function manifestId(manifest: HashManifest): string {
  const digest = createHash('sha256')
    .update(`${manifest.algorithm}:${manifest.blockSize}:${manifest.virtualSize}:`)
    .update(manifest.digests)
    .digest('hex');
  return `hash-${manifest.algorithm}-${manifest.blockSize}-${digest.slice(0, 32)}`;
}

/** The digest of `length` zero bytes, to tell zero blocks apart without reading them again. */
export function zeroDigest(algorithm: HashAlgorithm, length: number): Buffer {
  return digestOf(algorithm, Buffer.alloc(length));
}

/**
 * The blocks whose digests differ, as coalesced extents of `target`'s disk ('zero' where the target block
 * is all zeros, so the sender needs no read). Both manifests must describe the same geometry.
 */
export function* diffManifests(base: HashManifest, target: HashManifest): Generator<ChangedExtent> {
  yield* diffManifestBlocks(base, target, 0, blockCountOf(target.virtualSize, target.blockSize));
}

/**
 * diffManifests over the blocks [first, end) only: a comparison that goes on while `target` is still being
 * hashed compares each part once its digests are final (hashImage's onSettled).
 */
export function* diffManifestBlocks(base: HashManifest, target: HashManifest, first: number, end: number): Generator<ChangedExtent> {
  if (base.algorithm !== target.algorithm || base.blockSize !== target.blockSize || base.virtualSize !== target.virtualSize) {
    throw new ManifestError(
      `manifests are not comparable: ${base.algorithm}/${base.blockSize}/${base.virtualSize} vs ` +
        `${target.algorithm}/${target.blockSize}/${target.virtualSize}; hash both disks with the same algorithm and block size`,
    );
  }
  const count = blockCountOf(target.virtualSize, target.blockSize);
  if (!(Number.isSafeInteger(first) && Number.isSafeInteger(end) && 0 <= first && first <= end && end <= count)) {
    throw new RangeError(`blocks [${first}, ${end}) are not within the manifest's ${count} blocks`);
  }
  yield* diffBlocks(sameIndexes(first, end), base.digests, target.digests, target);
}

/** Block indexes [first, end) of whole manifests: each block's digest is at its own index. */
function* sameIndexes(first: number, end: number): Generator<[number, number]> {
  for (let block = first; block < end; block++) yield [block, block];
}

/** The geometry two sets of digests share. */
export interface DigestGeometry {
  algorithm: HashAlgorithm;
  blockSize: number;
  virtualSize: number;
}

/**
 * The fine pass of a two-level comparison: `base` and `target` hold the digests of the `blockSize` blocks
 * of `ranges` (hashRanges, each side its own disk); the blocks whose digests differ, as in diffManifests.
 */
export function* diffRangeDigests(ranges: ReadonlyArray<{ offset: number; length: number }>, base: Buffer, target: Buffer, geometry: DigestGeometry): Generator<ChangedExtent> {
  const runs = ranges.map((r): [number, number] => [Math.floor(r.offset / geometry.blockSize), Math.ceil((r.offset + r.length) / geometry.blockSize)]);
  const blocks = runs.reduce((sum, [first, end]) => sum + end - first, 0);
  if (base.length !== blocks * DIGEST_SIZE || target.length !== blocks * DIGEST_SIZE) {
    throw new ManifestError(`the ranges hold ${blocks} blocks, but the digests cover ${base.length / DIGEST_SIZE} and ${target.length / DIGEST_SIZE}`);
  }
  yield* diffBlocks(blockPairs(runs), base, target, geometry);
}

/** Each block index of the runs with the index of its digest (its ordinal over all the runs). */
function* blockPairs(runs: Iterable<[number, number]>): Generator<[number, number]> {
  let ordinal = 0;
  for (const [first, end] of runs) for (let block = first; block < end; block++) yield [block, ordinal++];
}

function* diffBlocks(pairs: Iterable<[number, number]>, base: Buffer, target: Buffer, geometry: DigestGeometry): Generator<ChangedExtent> {
  const { blockSize, virtualSize } = geometry;
  const count = blockCountOf(virtualSize, blockSize);
  const fullZero = zeroDigest(geometry.algorithm, blockSize);
  const tailLength = virtualSize - (count - 1) * blockSize;
  const tailZero = tailLength === blockSize ? fullZero : zeroDigest(geometry.algorithm, tailLength);
  const out = new ExtentCoalescer();
  for (const [i, ordinal] of pairs) {
    const at = ordinal * DIGEST_SIZE;
    if (base.compare(target, at, at + DIGEST_SIZE, at, at + DIGEST_SIZE) === 0) continue;
    const offset = i * blockSize;
    const length = Math.min(blockSize, virtualSize - offset);
    const zero = (i === count - 1 ? tailZero : fullZero).compare(target, at, at + DIGEST_SIZE) === 0;
    out.push(offset, length, zero ? 'zero' : 'data');
    yield* out.take();
  }
  yield* out.finish();
}
