/**
 * XXH3-128 from the addon (native/src/hash/xxh128.cc, xxHash used header-only): the fastest manifest hash, for
 * comparisons of two copies of a disk, and a record checksum of replication logs (not cryptographic:
 * src/tracking/hash/hash-algorithm.ts and src/protocol/record-hash.ts say where that is acceptable). A whole
 * window of blocks per call, hashed on the libuv pool.
 */
import { binding, type NativeBinding } from './binding.js';

interface Xxh128Binding extends NativeBinding {
  xxh128(data: Uint8Array): Buffer;
  xxh128Blocks(data: Uint8Array, blockSize: number): Promise<Buffer>;
  xxh128Pieces(pieces: readonly Uint8Array[]): Promise<Buffer>;
}

function xxh128Binding(): Xxh128Binding {
  return binding() as Xxh128Binding;
}

/** The 16-byte XXH3-128 digest of `data` (seed 0, canonical big-endian form: what `xxhsum -H2` prints), on the calling thread. */
export function xxh128(data: Uint8Array): Buffer {
  return xxh128Binding().xxh128(data);
}

/**
 * The digests of every `blockSize` block of `data` (the last may be short), off the main thread, each in a
 * 32-byte manifest slot: the 16-byte digest, then 16 zero bytes.
 */
export function xxh128Blocks(data: Uint8Array, blockSize: number): Promise<Buffer> {
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0) throw new RangeError(`XXH3-128 block size must be a positive integer, got ${blockSize}`);
  return xxh128Binding().xxh128Blocks(data, blockSize);
}

/**
 * The 16-byte digest of `pieces` back to back, off the main thread. XXH3 streams, so bytes that arrived in
 * several buffers are hashed where they lie: nothing is joined, in JS or natively.
 */
export function xxh128Pieces(pieces: readonly Uint8Array[]): Promise<Buffer> {
  return xxh128Binding().xxh128Pieces(pieces);
}
