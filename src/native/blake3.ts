/**
 * BLAKE3 from the addon (native/src/hash/blake3.cc): the fast manifest hash. A whole window of blocks per
 * call, hashed on the libuv pool, so no worker threads and no object per block.
 */
import { binding, type NativeBinding } from './binding.js';

/** The addon's code paths: the fastest this CPU supports is used unless a caller names one (tests compare them). */
export type Blake3Path = 'avx512' | 'avx2' | 'portable';

interface Blake3Binding extends NativeBinding {
  blake3Paths(): Blake3Path[];
  blake3(data: Uint8Array, path?: Blake3Path): Buffer;
  blake3Blocks(data: Uint8Array, blockSize: number, path?: Blake3Path): Promise<Buffer>;
  blake3Pieces(pieces: readonly Uint8Array[], path?: Blake3Path): Promise<Buffer>;
}

function blake3Binding(): Blake3Binding {
  return binding() as Blake3Binding;
}

/** The paths usable on this machine, fastest first ('portable' always last). */
export function blake3Paths(): Blake3Path[] {
  return blake3Binding().blake3Paths();
}

/**
 * Whether BLAKE3 is worth choosing here: only with a SIMD path, since the portable code is slower than
 * SHA-256 with the SHA-NI instructions (src/tracking/hash/hash-algorithm.ts).
 */
export function blake3HasSimd(): boolean {
  return blake3Paths().some((path) => path !== 'portable');
}

/** The 32-byte BLAKE3 digest of `data`, computed on the calling thread (small inputs). */
export function blake3(data: Uint8Array, path?: Blake3Path): Buffer {
  return blake3Binding().blake3(data, path);
}

/** The digests of every `blockSize` block of `data` (the last may be short), 32 bytes each, off the main thread. */
export function blake3Blocks(data: Uint8Array, blockSize: number, path?: Blake3Path): Promise<Buffer> {
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0) throw new RangeError(`BLAKE3 block size must be a positive integer, got ${blockSize}`);
  return blake3Binding().blake3Blocks(data, blockSize, path);
}

/**
 * The digest of `pieces` back to back, off the main thread: bytes that arrived in several buffers are joined
 * in the pool thread's own memory, never in a new JS buffer.
 */
export function blake3Pieces(pieces: readonly Uint8Array[], path?: Blake3Path): Promise<Buffer> {
  return blake3Binding().blake3Pieces(pieces, path);
}
