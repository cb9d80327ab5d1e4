/**
 * Builds the hash manifest of a disk image: reads it in large sequential windows on the main thread (the
 * reads themselves run on the libuv pool) while the hash pool digests earlier windows on every core.
 * Blocks the image reports as unallocated are never read: they get the zero digest directly, so a sparse
 * disk costs what it holds, not what it could hold.
 */
import type { AllocationExtent, DiskImage } from '../../host/disk-image.js';
import { throwIfAborted } from '../extents.js';
import { DEFAULT_HASH_ALGORITHM, DIGEST_SIZE, type HashAlgorithm } from './hash-algorithm.js';
import { HashPool } from './hash-pool.js';
import { blockCountOf, DEFAULT_BLOCK_SIZE, validateBlockSize, zeroDigest, type HashManifest } from './manifest.js';

export interface HashImageOptions {
  blockSize?: number;
  algorithm?: HashAlgorithm;
  /** Worker threads; default one per core. */
  parallelism?: number;
  /** Bytes read per request; rounded to whole blocks (default 8 MiB). */
  windowSize?: number;
  signal?: AbortSignal;
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
  const algorithm = options.algorithm ?? DEFAULT_HASH_ALGORITHM;
  const { virtualSize } = image;
  const count = blockCountOf(virtualSize, blockSize);
  const blocksPerWindow = Math.max(1, Math.floor((options.windowSize ?? 8 * 1024 * 1024) / blockSize));
  const digests = Buffer.alloc(count * DIGEST_SIZE);

  // Start from "every block is zero"; only blocks with data are overwritten below.
  const fullZero = zeroDigest(algorithm, blockSize);
  for (let i = 0; i < count; i++) fullZero.copy(digests, i * DIGEST_SIZE);
  const tail = virtualSize - (count - 1) * blockSize;
  if (count > 0 && tail !== blockSize) zeroDigest(algorithm, tail).copy(digests, (count - 1) * DIGEST_SIZE);

  const allocation = image.allocation ? await image.allocation() : undefined;
  const pool = new HashPool(algorithm, options.parallelism);
  const inFlight = new Set<Promise<void>>();
  try {
    for (const [first, end] of blocksToRead(allocation, count, blockSize)) {
      for (let block = first; block < end; block += blocksPerWindow) {
        throwIfAborted(options.signal);
        const blocks = Math.min(blocksPerWindow, end - block);
        const offset = block * blockSize;
        const length = Math.min(blocks * blockSize, virtualSize - offset);
        const data = await image.read(offset, length);
        const job: Promise<void> = pool.hash(data, blockSize).then((result) => {
          result.copy(digests, block * DIGEST_SIZE);
          inFlight.delete(job);
        });
        inFlight.add(job);
        // Two batches per worker keep every core busy while bounding memory to a few windows.
        if (inFlight.size >= pool.size * 2) await Promise.race(inFlight);
      }
    }
    await Promise.all(inFlight);
  } finally {
    await Promise.allSettled(inFlight);
    await pool.close();
  }
  return { algorithm, blockSize, virtualSize, digests };
}
