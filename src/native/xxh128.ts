/**
 * XXH3-128 from the addon (native/src/hash/xxh128.cc, xxHash used header-only): the fastest manifest hash, for
 * comparisons of two copies of a disk (not cryptographic: src/tracking/hash/hash-algorithm.ts says where that
 * is acceptable). A whole window of blocks per call, hashed on the libuv pool.
 */
import { binding, type NativeBinding } from './binding.js';

interface Xxh128Binding extends NativeBinding {
  xxh128(data: Uint8Array): Buffer;
  xxh128Blocks(data: Uint8Array, blockSize: number): Promise<Buffer>;
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
