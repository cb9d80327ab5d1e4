/**
 * Builds the hash manifest of a disk image: reads it in large sequential windows on the main thread (the
 * reads themselves run on the libuv pool) while the hash pool digests earlier windows on every core.
 * Blocks the image reports as unallocated are never read: they get the zero digest directly, so a sparse
 * disk costs what it holds, not what it could hold.
 */
import type { AllocationExtent, DiskImage } from '../../host/disk-image.js';
import { throwIfAborted } from '../extents.js';
import { DEFAULT_HASH_ALGORITHM, DIGEST_SIZE, isNative, type HashAlgorithm } from './hash-algorithm.js';
import { HashPool } from './hash-pool.js';
import { blockCountOf, DEFAULT_BLOCK_SIZE, validateBlockSize, zeroDigest, type HashManifest } from './manifest.js';

export interface HashImageOptions {
  blockSize?: number;
  /** Default: the pool's, else SHA-256. */
  algorithm?: HashAlgorithm;
  /** Worker threads; default one per core. */
  parallelism?: number;
  /** A pool to hash on (shared by the caller, left open); `parallelism` is then ignored. */
  pool?: HashPool;
  /** Bytes read per request; rounded to whole blocks (default 8 MiB). */
  windowSize?: number;
  signal?: AbortSignal;
  /**
   * hashImage only: called as the digests settle, with a block index below which every digest is final
   * (hashed, or a block that holds no data), rising; `count` last. Lets a comparison start on the first
   * part of a disk while the rest is still being hashed.
   */
  onSettled?: (below: number, manifest: HashManifest) => void;
}

/** Runs of block indexes [first, end) that hold data and must be read. */
function* blocksToRead(allocation: AllocationExtent[] | undefined, count: number, blockSize: number): Generator<[number, number]> {
  if (!allocation) {
    yield [0, count];
    return;
  }
  let runStart = -1;
  let runEnd = -1;
  for (const extent of allocation) {
    if (extent.state !== 'data' || extent.length === 0) continue;
    const first = Math.floor(extent.offset / blockSize);
    const end = Math.min(count, Math.ceil((extent.offset + extent.length) / blockSize));
    if (first <= runEnd) {
      runEnd = Math.max(runEnd, end);
      continue;
    }
    if (runStart >= 0) yield [runStart, runEnd];
    runStart = first;
    runEnd = end;
  }
  if (runStart >= 0) yield [runStart, runEnd];
}

export async function hashImage(image: DiskImage, options: HashImageOptions = {}): Promise<HashManifest> {
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  validateBlockSize(blockSize);
  const algorithm = options.algorithm ?? options.pool?.algorithm ?? DEFAULT_HASH_ALGORITHM;
  const { virtualSize } = image;
  const count = blockCountOf(virtualSize, blockSize);
  const digests = Buffer.alloc(count * DIGEST_SIZE);

  // Start from "every block is zero"; only blocks with data are overwritten below.
  const fullZero = zeroDigest(algorithm, blockSize);
  for (let i = 0; i < count; i++) fullZero.copy(digests, i * DIGEST_SIZE);
  const tail = virtualSize - (count - 1) * blockSize;
  if (count > 0 && tail !== blockSize) zeroDigest(algorithm, tail).copy(digests, (count - 1) * DIGEST_SIZE);

  const manifest: HashManifest = { algorithm, blockSize, virtualSize, digests };
  let reported = 0;
  const settled = (below: number): void => {
    if (below <= reported) return;
    reported = below;
    options.onSettled?.(below, manifest);
  };
  const allocation = image.allocation ? await image.allocation() : undefined;
  await digestRuns(image, blocksToRead(allocation, count, blockSize), { ...options, blockSize, algorithm }, (block, _ordinal, result) => result.copy(digests, block * DIGEST_SIZE), options.onSettled && settled);
  // Blocks after the last run hold no data: final from the start.
  settled(count);
  return manifest;
}

/** A byte range of a disk. */
export interface ByteRange {
  offset: number;
  length: number;
}

/**
 * The digests of every `blockSize` block of the given ranges, in order, concatenated (32 bytes each): the
 * fine pass of a two-level comparison, over only the coarse blocks that differed. Ranges must be sorted,
 * must not overlap and must start on a block boundary; each ends on one or at the end of the disk. Every
 * block is read (no allocation map): the ranges are few and were chosen because they hold something.
 */
export async function hashRanges(image: DiskImage, ranges: readonly ByteRange[], options: HashImageOptions & { blockSize: number }): Promise<Buffer> {
  const { blockSize } = options;
  validateBlockSize(blockSize);
  checkRanges(ranges, blockSize, image.virtualSize);
  const runs = ranges.map((r): [number, number] => [r.offset / blockSize, Math.ceil((r.offset + r.length) / blockSize)]);
  const total = runs.reduce((sum, [first, end]) => sum + end - first, 0);
  const digests = Buffer.alloc(total * DIGEST_SIZE);
  await digestRuns(image, runs, options, (_block, ordinal, result) => result.copy(digests, ordinal * DIGEST_SIZE));
  return digests;
}

/** Refuses ranges `hashRanges` cannot take, saying which and why. */
export function checkRanges(ranges: readonly ByteRange[], blockSize: number, virtualSize: number): void {
  let previousEnd = 0;
  for (const [i, { offset, length }] of ranges.entries()) {
    const end = offset + length;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || length <= 0 || offset < previousEnd || end > virtualSize) {
      throw new RangeError(`range ${i} (${length} bytes at ${offset}) is empty, overlaps or precedes the one before, or passes the end of the ${virtualSize}-byte disk`);
    }
    if (offset % blockSize !== 0 || (end % blockSize !== 0 && end !== virtualSize)) {
      throw new RangeError(`range ${i} (${length} bytes at ${offset}) does not start and end on ${blockSize}-byte block boundaries`);
    }
    previousEnd = end;
  }
}

/**
 * Reads the runs of blocks [first, end) in windows and digests them on the pool; `place` gets each
 * window's first block, its ordinal among all blocks read (in run order), and its digests; `onSettled`
 * the block below which every window issued so far is placed (SettledBelow).
 */
async function digestRuns(
  image: DiskImage,
  runs: Iterable<[number, number]>,
  options: HashImageOptions & { blockSize: number },
  place: (block: number, ordinal: number, digests: Buffer) => void,
  onSettled?: (below: number) => void,
): Promise<void> {
  const { blockSize } = options;
  const algorithm = options.algorithm ?? options.pool?.algorithm ?? DEFAULT_HASH_ALGORITHM;
  const { virtualSize } = image;
  const blocksPerWindow = Math.max(1, Math.floor((options.windowSize ?? 8 * 1024 * 1024) / blockSize));
  const pool = options.pool ?? new HashPool(algorithm, options.parallelism);
  if (pool.algorithm !== algorithm) throw new RangeError(`the hash pool digests ${pool.algorithm}, not ${algorithm}`);
  const windowBytes = blocksPerWindow * blockSize;
  // Windows come back from the workers and are read into again: a fresh buffer per read costs the kernel
  // a zeroed page every 4 KiB, more than copying the data does.
  const spare: Buffer[] = [];
  const inFlight = new Set<Promise<void>>();
  const settled = new SettledBelow(onSettled);
  let ordinal = 0;
  try {
    for (const [first, end] of runs) {
      for (let block = first; block < end; block += blocksPerWindow) {
        throwIfAborted(options.signal);
        const blocks = Math.min(blocksPerWindow, end - block);
        settled.issued(block, block + blocks);
        const offset = block * blockSize;
        const length = Math.min(blocks * blockSize, virtualSize - offset);
        const at = ordinal;
        ordinal += blocks;
        if (isNative(algorithm) && image.hashBlocks) {
          // Read and hashed in one native job: several windows at once, no buffer here.
          const fused: Promise<void> = image.hashBlocks(algorithm, offset, length, blockSize).then((digests) => {
            place(block, at, digests);
            settled.done(block);
            inFlight.delete(fused);
          });
          // Observed at once (the race below still sees a failure): it may fail while this loop awaits a read.
          fused.catch(() => undefined);
          inFlight.add(fused);
          if (inFlight.size >= pool.maxInFlight) await Promise.race(inFlight);
          continue;
        }
        let data: Buffer;
        if (image.readInto) {
          data = spare.pop() ?? Buffer.allocUnsafeSlow(windowBytes);
          await image.readInto(offset, data.subarray(0, length));
        } else {
          data = await image.read(offset, length);
        }
        const job: Promise<void> = pool.hash(data, blockSize, length).then((result) => {
          place(block, at, result.digests);
          settled.done(block);
          if (result.data.length === windowBytes) spare.push(result.data);
          inFlight.delete(job);
        });
        job.catch(() => undefined);
        inFlight.add(job);
        // Enough windows to keep every core busy while bounding memory to a few windows.
        if (inFlight.size >= pool.maxInFlight) await Promise.race(inFlight);
      }
    }
    await Promise.all(inFlight);
  } finally {
    await Promise.allSettled(inFlight);
    if (!options.pool) await pool.close();
  }
}

/**
 * The `onSettled` watermark of digestRuns: windows are issued in block order but finish in any order; every
 * block below the first unfinished window is final, and so is every block below the next window issued,
 * since the blocks between runs hold no data and keep the zero digest they started with.
 */
class SettledBelow {
  /** First blocks of the windows issued and not finished, in issue (= block) order. */
  private readonly pending: number[] = [];
  private readonly finished = new Set<number>();
  /** End of the last window issued. */
  private issuedEnd = 0;
  private reported = 0;

  constructor(private readonly report: ((below: number) => void) | undefined) {}

  /** The window of blocks [first, end) is about to be issued. */
  issued(first: number, end: number): void {
    if (!this.report) return;
    this.advance(this.pending[0] ?? first);
    this.pending.push(first);
    this.issuedEnd = end;
  }

  /** The window starting at `first` has its digests placed. */
  done(first: number): void {
    if (!this.report) return;
    this.finished.add(first);
    while (this.pending.length > 0 && this.finished.delete(this.pending[0]!)) this.pending.shift();
    this.advance(this.pending[0] ?? this.issuedEnd);
  }

  private advance(below: number): void {
    if (below <= this.reported) return;
    this.reported = below;
    this.report!(below);
  }
}
