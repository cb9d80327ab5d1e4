/**
 * One disk's two-level comparison, done as the disk is hashed instead of after it: each part of the local
 * manifest is compared with the replica's as soon as its digests are final (hashImage's onSettled), the
 * differing coarse blocks are compared again in HASH_SYNC_FINE_BLOCK_SIZE blocks a batch at a time, and
 * the differing extents go to an ExtentFeed that the disk's log encoder reads while the upload runs. On 2
 * cores the fine pass, the encoding and the upload then overlap the hashing of the rest of the disk rather
 * than following it (bench/replication/README.md, resync).
 */
import { blockCountOf } from '../tracking/hash/manifest.js';
import type { DiskImage } from '../host/disk-image.js';
import { logger } from '../logging/logger.js';
import type { ChangedExtent } from '../tracking/change-tracker.js';
import { decodeManifest, diffManifestBlocks, diffRangeDigests, hashImage, hashRanges, type ByteRange, type HashManifest } from '../tracking/index.js';
import type { HashPool } from '../tracking/hash/hash-pool.js';
import { TransportError } from '../transport/errors.js';
import type { ReplicaClient } from '../transport/http2-client.js';
import { MAX_DIGEST_RANGES, MAX_MANIFEST_BLOCKS } from '../transport/manifest-wire.js';
import { AgentError } from './errors.js';
import type { ExtentFeed } from './extent-feed.js';

const log = logger('hash-sync');

/**
 * Block of the fine pass (two-level comparison): the coarse blocks that differ are hashed again on both
 * sides in 4 KiB blocks and only the 4 KiB blocks that differ are sent. Scattered guest writes of a few KiB
 * (1% of a disk) fill about half of the 64 KiB blocks they touch: the fine pass halves what is sent and
 * applied, for a re-read of the differing blocks (bench/replication/README.md, resync).
 */
export const HASH_SYNC_FINE_BLOCK_SIZE = 4096;
/** Above this share of the compared span differing, the fine pass would re-read more than it saves: skipped. */
const FINE_PASS_MAX_SHARE = 0.25;
/**
 * Differing coarse bytes compared again per fine request: small enough that the log's upload gets its
 * first extents early, large enough that the round trips (one per batch) stay few (10 for 1% of 4 GiB).
 */
const FINE_BATCH_BYTES = 4 * 1024 * 1024;
/**
 * The disk's log may start uploading once at most this much of the disk is left to hash. An upload stream
 * carries nothing while the comparison finds nothing, and the replica server gives up an upload stream idle
 * for 60 s (http2-server.ts); 4 GiB is under 30 s even at 150 MB/s (a disk read cold).
 */
export const STREAM_AHEAD_BYTES = 4 * 1024 ** 3;

/**
 * What the fine pass (two-level comparison) of a disk did: `compared` the differing coarse blocks in
 * HASH_SYNC_FINE_BLOCK_SIZE blocks on both sides; `skipped` because it could not save much (or the coarse
 * block is already that small); `replica-too-old` because the replica server predates the digests route,
 * so the differing coarse blocks went whole.
 */
export type FinePassOutcome = 'compared' | 'skipped' | 'replica-too-old';

export interface StreamedComparison {
  client: ReplicaClient;
  logVmId: string;
  logDiskId: string;
  virtualSize: number;
  image: DiskImage;
  blockSize: number;
  pool: HashPool;
  /** The replica's content the comparison is against; it must not move meanwhile. */
  content: { position: string; referencePoint: string };
  /** Where the differing extents go, in offset order; ended when the comparison is, failed if it fails. */
  feed: ExtentFeed;
  /** Called (maybe more than once) when the log may start uploading: the replica's manifest is checked and little is left to hash. */
  onStreamable?: () => void;
  signal?: AbortSignal;
}

/** Compares one disk with its replica while hashing it; resolves once every differing extent is in the feed. */
export async function compareStreamed(c: StreamedComparison): Promise<FinePassOutcome> {
  try {
    const outcome = await compare(c);
    c.feed.end();
    return outcome;
  } catch (error) {
    c.feed.fail(new Error(`the comparison of disk ${c.logDiskId} failed: ${(error as Error).message}`, { cause: error }));
    throw error;
  }
}

async function compare(c: StreamedComparison): Promise<FinePassOutcome> {
  const { blockSize, pool, signal } = c;
  const count = blockCountOf(c.virtualSize, blockSize);
  let settled = 0;
  let local: HashManifest | undefined;
  let wake: (() => void) | undefined;
  // Stops the local hashing when the comparison fails otherwise: the failure is reported at once, not after the disk.
  const stop = new AbortController();
  // Both sides hash at once: the replica answers its kept manifest (or hashes its copy) while this side hashes.
  const hashing = hashImage(c.image, {
    blockSize,
    pool,
    signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal,
    onSettled: (below, manifest) => {
      settled = below;
      local = manifest;
      wake?.();
    },
  });
  // Observed at once: it may fail while a fine pass is awaited; the loop below still throws its failure. Its end
  // wakes the loop, which then awaits it; the loop never races it (each race would leave a reaction on it that
  // lives as long as the whole disk's hashing).
  let hashingOver = false;
  void hashing.then(
    () => ((hashingOver = true), wake?.()),
    () => ((hashingOver = true), wake?.()),
  );
  try {
    const theirs = await remoteManifest(c);
    const fine = new FineBatches(c);
    let compared = 0;
    while (compared < count) {
      if ((count - settled) * blockSize <= STREAM_AHEAD_BYTES) c.onStreamable?.();
      if (settled <= compared || !local) {
        // A failed hashing throws here; a finished one has reported every block already.
        if (hashingOver) await hashing;
        else await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const upTo = settled;
      const differing = [...diffManifestBlocks(theirs, local, compared, upTo)];
      compared = upTo;
      await fine.add(differing, upTo * blockSize);
    }
    await hashing;
    c.onStreamable?.();
    await fine.flush(c.virtualSize);
    return fine.outcome();
  } catch (error) {
    // The local hashing is not left running on the pool when the comparison failed otherwise.
    stop.abort(new Error('the comparison failed'));
    await Promise.allSettled([hashing]);
    throw error;
  }
}

/** The replica's manifest of the disk, checked: of the content compared against, the algorithm and block asked for. */
async function remoteManifest(c: StreamedComparison): Promise<HashManifest> {
  const { blockSize, pool } = c;
  const answer = await c.client.manifest(c.logVmId, c.logDiskId, blockSize, pool.algorithm, c.signal);
  if (answer.position !== c.content.position || answer.referencePoint !== c.content.referencePoint) {
    throw new AgentError('ERR_BUSY', `the replica moved from ${c.content.position} to ${answer.position ?? 'nothing'} during the comparison: another primary sends to it? try again`);
  }
  const theirs = decodeManifest(answer.manifest, `the replica's manifest of disk ${c.logDiskId}`);
  if (theirs.algorithm !== pool.algorithm || theirs.blockSize !== blockSize) {
    throw new AgentError(
      'ERR_INVALID_STATE',
      `the replica answered a ${theirs.algorithm} manifest at ${theirs.blockSize}-byte blocks for disk ${c.logDiskId}; ${pool.algorithm} at ${blockSize} was asked for: is the replica server's hvreplica damaged or mixed? upgrade it and try again`,
    );
  }
  return theirs;
}

/**
 * The fine pass in batches of about FINE_BATCH_BYTES of differing coarse blocks: each batch is hashed here
 * and on the replica in fine blocks at once, and its differing fine blocks (with the coarse blocks that are
 * zero here, which need no data) go to the feed in offset order.
 */
class FineBatches {
  private zeros: ChangedExtent[] = [];
  private data: ChangedExtent[] = [];
  private dataBytes = 0;
  /** Start of the span of the disk the pending batch was found in. */
  private spanStart = 0;
  private compared = false;
  private replicaTooOld = false;

  constructor(private readonly c: StreamedComparison) {}

  /** Differing coarse extents found below `comparedTo` (bytes); a full batch is compared at once. */
  async add(extents: ChangedExtent[], comparedTo: number): Promise<void> {
    for (const extent of extents) {
      if (extent.kind === 'zero') this.zeros.push(extent);
      else {
        this.data.push(extent);
        this.dataBytes += extent.length;
      }
    }
    if (this.dataBytes >= FINE_BATCH_BYTES || this.data.length >= MAX_DIGEST_RANGES) await this.flush(comparedTo);
  }

  /** Compares the pending batch (found in the span up to `comparedTo`) and hands its extents to the feed. */
  async flush(comparedTo: number): Promise<void> {
    const { zeros, data, dataBytes } = this;
    const span = comparedTo - this.spanStart;
    this.zeros = [];
    this.data = [];
    this.dataBytes = 0;
    this.spanStart = comparedTo;
    const fine = data.length === 0 ? [] : await this.finePass(data, dataBytes, span);
    this.c.feed.push([...zeros, ...fine].sort((a, b) => a.offset - b.offset));
  }

  outcome(): FinePassOutcome {
    if (this.replicaTooOld) return 'replica-too-old';
    return this.compared ? 'compared' : 'skipped';
  }

  private async finePass(coarse: ChangedExtent[], dataBytes: number, span: number): Promise<ChangedExtent[]> {
    const { c } = this;
    const blockSize = HASH_SYNC_FINE_BLOCK_SIZE;
    const ranges: ByteRange[] = coarse.map((e) => ({ offset: e.offset, length: e.length }));
    const blocks = ranges.reduce((sum, r) => sum + Math.ceil(r.length / blockSize), 0);
    if (this.replicaTooOld || c.blockSize <= blockSize || dataBytes > span * FINE_PASS_MAX_SHARE || blocks > MAX_MANIFEST_BLOCKS) {
      return coarse;
    }
    // Settled both ways: the local pass is never left running on the pool when the replica's answer fails.
    const [theirs, ours] = await Promise.allSettled([
      c.client.digests(c.logVmId, c.logDiskId, { blockSize, algorithm: c.pool.algorithm, position: c.content.position, referencePoint: c.content.referencePoint, ranges }, c.signal),
      hashRanges(c.image, ranges, { blockSize, pool: c.pool, ...(c.signal ? { signal: c.signal } : {}) }),
    ]);
    if (ours.status === 'rejected') throw ours.reason;
    if (theirs.status === 'rejected') {
      const error: unknown = theirs.reason;
      // A replica server from before the digests route answers "no such route": the coarse blocks go whole.
      if (error instanceof TransportError && error.code === 'ERR_NOT_FOUND') {
        log.info('the replica server serves no block digests (it predates them): the differing blocks go whole; upgrade it to send less', {
          diskId: c.logDiskId,
          blockSize: c.blockSize,
          differingBytes: dataBytes,
          error: error.message,
        });
        this.replicaTooOld = true;
        return coarse;
      }
      throw error;
    }
    this.compared = true;
    return [...diffRangeDigests(ranges, theirs.value, ours.value, { algorithm: c.pool.algorithm, blockSize, virtualSize: c.virtualSize })];
  }
}
