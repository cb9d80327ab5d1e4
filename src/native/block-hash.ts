/**
 * The manifest hashes the addon computes a window of blocks at a time (BLAKE3, XXH3-128), by the names the
 * manifests and the wire use: one call for either, for the hash pool and the VHDX engine's read-and-hash.
 */
import { blake3Blocks } from './blake3.js';
import { xxh128Blocks } from './xxh128.js';

export type NativeBlockHash = 'blake3' | 'xxh128';

export const NATIVE_BLOCK_HASHES: readonly NativeBlockHash[] = ['blake3', 'xxh128'];

/** Where a read puts the digest of each range it reads, by which hash: a 32-byte slot per range, in order. */
export interface RangeDigests {
  algorithm: NativeBlockHash;
  slots: Buffer;
}

export function isNativeBlockHash(name: string): name is NativeBlockHash {
  return (NATIVE_BLOCK_HASHES as readonly string[]).includes(name);
}

/** The digest of every `blockSize` block of `data` (the last may be short), each in a 32-byte manifest slot, off the main thread. */
export function nativeHashBlocks(algorithm: NativeBlockHash, data: Uint8Array, blockSize: number): Promise<Buffer> {
  return algorithm === 'blake3' ? blake3Blocks(data, blockSize) : xxh128Blocks(data, blockSize);
}
