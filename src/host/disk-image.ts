import type { NativeBlockHash, RangeDigests } from '../native/block-hash.js';
/**
 * A readable virtual disk image, the one thing trackers and the snapshot reader need from a disk: its
 * geometry and random reads. A VHDX chain opened through src/vhdx is one; a raw file is another.
 */
export interface AllocationExtent {
  offset: number;
  length: number;
  /** 'zero' and 'absent' both read as zeros; only 'data' needs reading. */
  state: 'data' | 'zero' | 'absent';
}

export interface DiskImage {
  readonly virtualSize: number;
  readonly logicalSectorSize: 512 | 4096;
  /** Reads `length` bytes at virtual offset `offset`; past the end is an ERR_INVALID_ARGUMENT error. */
  read(offset: number, length: number): Promise<Buffer>;
  /**
   * Reads `into.length` bytes at `offset` into a buffer the caller reuses. Optional: a reader of a whole
   * disk (the hash manifest) recycles a few windows instead of allocating fresh memory for every read,
   * which costs the kernel a zeroed page per 4 KiB, several times the copy itself.
   */
  readInto?(offset: number, into: Buffer): Promise<void>;
  /**
   * Reads several runs into `into`, back to back (their lengths add up to its length), as one request. Optional:
   * a delta reads hundreds of small scattered extents, and a request each costs a thread-pool round trip each
   * (the VHDX engine reads them all in one pool job). With `digests` (a 32-byte slot per run) the image also gives
   * the digest of each run by their algorithm, computed while its bytes are still in the CPU's cache.
   */
  readRanges?(ranges: readonly { offset: number; length: number }[], into: Buffer, digests?: RangeDigests): Promise<void>;
  /**
   * Digests (BLAKE3 or XXH3-128, 32-byte slots) of every `blockSize` block of [offset, offset + length) (the
   * last may be short), read and hashed in one step where the image can (the VHDX engine): no window buffer,
   * reads overlap hashing.
   */
  hashBlocks?(algorithm: NativeBlockHash, offset: number, length: number, blockSize: number): Promise<Buffer>;
  /**
   * Where the image holds data, when the format knows (sorted, covering the whole disk). Lets readers of
   * sparse images skip what reads as zeros; absent for formats that cannot tell.
   */
  allocation?(): Promise<AllocationExtent[]>;
  close(): Promise<void>;
}
