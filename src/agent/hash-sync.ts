/**
 * Comparing by hash over the network: brings a replica server's copy of a VM to the content of a set of
 * disk images by sending only the blocks whose digests differ. Used wherever change tracking cannot say
 * what the replica lacks: resynchronisation, initial replication from a copy on the replica (use-backup),
 * reverse replication after a failover, extended replication (a replica's latest content onward).
 *
 *   the replica's content (position, disks) → per disk, the replica's manifest (computed there) and the
 *   source's (computed here) at the same block size, in parallel → the differing blocks framed as data /
 *   zero records → one log per disk, the next cycle of the replica's current generation, delivered
 *   through the normal upload path (spooled, resumable at a byte offset, checksummed).
 *
 * `syncToReplica` works on any source of images; `hashSyncVm` is the host-VM case: it freezes a reference
 * point, syncs from it, and only after the replica's acknowledgement saves the Replicator's state at that
 * point (so later cycles are ordinary deltas) and commits it. A failure discards the point; the replica
 * applies a cycle whole or not at all, so nothing is half-applied.
 */
import { diskLogId, vmLogId } from '../engine/ids.js';
import type { OutgoingLog } from '../engine/log-sink.js';
import { loadPrimaryState, savePrimaryState, type PrimaryState } from '../engine/primary-state.js';
import { settleLeftoverPoints } from '../engine/replicator.js';
import { cycleHeader, differenceRecords, manifestOf } from '../failover/disk-sync.js';
import type { DiskImage } from '../host/disk-image.js';
import type { Consistency, HostAdapter } from '../host/host-adapter.js';
import { logger } from '../logging/logger.js';
import { MAX_DIGEST_RANGES } from '../replica/replica-content.js';
import { encodeLog } from '../protocol/log-encoder.js';
import { ReplicationPosition, type CodecPolicy } from '../protocol/index.js';
import type { HostCredential } from '../security/index.js';
import type { ChangedExtent } from '../tracking/change-tracker.js';
import { decodeManifest, diffManifests, diffRangeDigests, hashRanges, type ByteRange } from '../tracking/index.js';
import { PREFERRED_SYNC_ALGORITHM, type HashAlgorithm } from '../tracking/hash/hash-algorithm.js';
import { algorithmsWorthUsingHere } from '../tracking/hash/block-digest.js';
import { HashPool } from '../tracking/hash/hash-pool.js';
import {
  agreedAlgorithm,
  Http2LogUploader,
  manifestBlockSize,
  MAX_MANIFEST_BLOCKS,
  ReplicaClient,
  RetryingUploader,
  TransportError,
  TransportSink,
  type DeliveryProgress,
  type ReplicaContentStatus,
  type ReplicaEndpoint,
  type RetryOptions,
} from '../transport/index.js';
import { AgentError } from './errors.js';

const log = logger('hash-sync');

/**
 * Preferred comparison block: whole differing blocks are sent, and small scattered writes (1% of a disk)
 * touch about 12% of the 1 MiB blocks but a fifth of that at 64 KiB (bench/replication/README.md, resync).
 */
export const HASH_SYNC_BLOCK_SIZE = 64 * 1024;
/**
 * Digests per disk this side accepts (16 MiB of them): both manifests of a disk are held at once, so the
 * block grows with the disk past 32 GiB instead of letting the comparison's memory grow (128 GiB: 256 KiB).
 */
export const HASH_SYNC_MAX_BLOCKS = 512 * 1024;
/**
 * Block of the fine pass (two-level comparison): the coarse blocks that differ are hashed again on both
 * sides in 4 KiB blocks and only the 4 KiB blocks that differ are sent. Scattered guest writes of a few KiB
 * (1% of a disk) fill about half of the 64 KiB blocks they touch: the fine pass halves what is sent and
 * applied, for a re-read of the differing blocks (bench/replication/README.md, resync).
 */
export const HASH_SYNC_FINE_BLOCK_SIZE = 4096;
/** Above this share of the disk differing, the fine pass would re-read more than it saves: skipped. */
const FINE_PASS_MAX_SHARE = 0.25;
/** At most this many ranges in one fine request (each is 16 bytes of request): what the replica takes. */
const FINE_PASS_MAX_RANGES = MAX_DIGEST_RANGES;

/** How to reach the relationship's replica server (as the agent's cycles do). */
export interface ReplicaConnection {
  endpoint: ReplicaEndpoint;
  credential: HostCredential;
  /** Where logs are spooled before upload (a sub-folder per VM and cycle, removed once acknowledged). */
  spoolDir: string;
  /** Retries of each log upload, each resuming at the replica's durable offset (default 5, 1 s doubling). */
  retry?: RetryOptions;
  parallelStreams?: number;
  onProgress?: (progress: DeliveryProgress) => void;
}

export interface HashSyncDisk {
  /** The id `open` takes (the host's disk id, or whatever the source names its disks by). */
  id: string;
  /** The GUID the disk's logs carry (diskLogId); the replica knows the disk by it. */
  logDiskId: string;
  virtualSize: number;
  logicalSectorSize: 512 | 4096;
}

/** Disk images in one consistent state (a frozen reference point, a replica's applied content). */
export interface HashSyncSource {
  /** The GUID the VM's logs carry (vmLogId). */
  logVmId: string;
  disks: HashSyncDisk[];
  /** Opens one disk read-only; it is closed once the cycle's logs are spooled, or the cycle failed. */
  open(id: string): Promise<DiskImage>;
  /**
   * Called once everything the cycle needs has been read from the source and spooled (its images are
   * closed by then), while the upload may still run: a source read under a lock lets it go here.
   */
  onRead?: () => void | Promise<void>;
  /** Names the state the images show: the new reference point of the cycle. */
  referencePoint: string;
  consistency?: Consistency;
}

export interface HashSyncOptions {
  /** Preferred block size of the comparison (default HASH_SYNC_BLOCK_SIZE, 64 KiB); raised per disk so one manifest fits an answer. */
  blockSize?: number;
  signal?: AbortSignal;
  /** A fresh codec policy per log (compression); default none. */
  codecPolicy?: () => CodecPolicy;
  /** Hash worker threads on this side (default one per core). */
  hashParallelism?: number;
  /** The algorithm to ask for (default PREFERRED_SYNC_ALGORITHM); SHA-256 whenever the replica does not list it. */
  algorithm?: HashAlgorithm;
}

/**
 * What the fine pass (two-level comparison) of a disk did: `compared` the differing coarse blocks in
 * HASH_SYNC_FINE_BLOCK_SIZE blocks on both sides; `skipped` because it could not save much (or the coarse
 * block is already that small); `replica-too-old` because the replica server predates the digests route,
 * so the differing coarse blocks went whole.
 */
export type FinePassOutcome = 'compared' | 'skipped' | 'replica-too-old';

export interface HashSyncDiskResult {
  logDiskId: string;
  virtualSize: number;
  blockSize: number;
  finePass: FinePassOutcome;
  /** Bytes of the blocks that differed (what the log carries before compression). */
  differingBytes: number;
}

export interface RemoteHashSyncResult {
  generation: number;
  sequence: number;
  /** The replica's reference point before (the cycle's base) and after. */
  baseReferencePoint: string;
  newReferencePoint: string;
  /** Bytes compared (the disks' virtual sizes). */
  comparedBytes: number;
  /** Bytes of the blocks that differed. */
  changedBytes: number;
  /** Bytes of log uploaded (after compression; a resumed upload counts only what was sent). */
  logBytes: number;
  disks: HashSyncDiskResult[];
}

/** The replica's content must be comparable disk for disk: same disks, same sizes. */
function checkComparable(content: ReplicaContentStatus, source: HashSyncSource): ReplicationPosition {
  if (content.Position === null) {
    throw new AgentError('ERR_INVALID_STATE', `the replica of VM ${source.logVmId} holds no content to compare against; run the initial replication instead`);
  }
  for (const disk of source.disks) {
    const there = content.Disks.find((d) => d.DiskId === disk.logDiskId);
    if (!there) {
      throw new AgentError('ERR_INVALID_STATE', `the replica has no disk ${disk.logDiskId} (source disk '${disk.id}'): disks were added; remove the replica and replicate the VM anew`);
    }
    if (there.VirtualSize !== disk.virtualSize || there.LogicalSectorSize !== disk.logicalSectorSize) {
      throw new AgentError(
        'ERR_INVALID_STATE',
        `disk '${disk.id}' is ${disk.virtualSize} bytes (${disk.logicalSectorSize}-byte sectors) here but ${there.VirtualSize} bytes (${there.LogicalSectorSize}-byte sectors) on the replica; ` +
          'disks are compared only at the same size: resize one to match, then try again',
      );
    }
  }
  const extra = content.Disks.filter((d) => !source.disks.some((s) => s.logDiskId === d.DiskId));
  if (extra.length > 0) {
    throw new AgentError('ERR_INVALID_STATE', `the replica has disks the source has not (${extra.map((d) => d.DiskId).join(', ')}): disks were removed; remove the replica and replicate the VM anew`);
  }
  return ReplicationPosition.parse(content.Position);
}

/**
 * Sends `source`'s content to the replica as the next cycle of the replica's current generation, only the
 * blocks that differ. Resolves once the replica holds every log durably (its acknowledgement); the caller
 * then records the position (and commits its reference point, if it has one).
 */
export async function syncToReplica(replica: ReplicaConnection, source: HashSyncSource, options: HashSyncOptions = {}): Promise<RemoteHashSyncResult> {
  const signal = options.signal;
  const connect = () => ReplicaClient.connect(replica.endpoint, replica.credential);
  const client = await connect();
  const opened: DiskImage[] = [];
  const uploader = new Http2LogUploader(connect);
  let pool: HashPool | undefined;
  try {
    // BLAKE3 when the replica server computes it (protocol 3 lists it in the hello) and this CPU has a SIMD path
    // for it, SHA-256 otherwise (an older server, or a CPU where SHA-256 is the faster).
    const algorithm = agreedAlgorithm(await client.hello(), options.algorithm ?? PREFERRED_SYNC_ALGORITHM, algorithmsWorthUsingHere());
    // One pool for every disk and both levels: starting workers (SHA-256) costs tens of milliseconds each.
    pool = new HashPool(algorithm, options.hashParallelism);
    const content = await client.content(source.logVmId);
    const position = checkComparable(content, source);
    const cycle = { generation: position.generation, sequence: position.sequence + 1, baseReferencePoint: content.ReferencePoint, newReferencePoint: source.referencePoint };
    const disks: HashSyncDiskResult[] = [];
    const logs: OutgoingLog[] = [];
    for (const disk of source.disks) {
      signal?.throwIfAborted();
      const image = await source.open(disk.id);
      opened.push(image);
      const blockSize = manifestBlockSize(disk.virtualSize, options.blockSize ?? HASH_SYNC_BLOCK_SIZE, HASH_SYNC_MAX_BLOCKS);
      // Both sides hash at once: the replica reads its copy while this side reads the source.
      const [remote, local] = await Promise.all([
        client.manifest(source.logVmId, disk.logDiskId, blockSize, algorithm),
        manifestOf(image, blockSize, { pool, ...(signal ? { signal } : {}) }),
      ]);
      if (remote.position !== content.Position || remote.referencePoint !== content.ReferencePoint) {
        throw new AgentError('ERR_BUSY', `the replica moved from ${content.Position} to ${remote.position ?? 'nothing'} during the comparison: another primary sends to it? try again`);
      }
      const theirs = decodeManifest(remote.manifest, `the replica's manifest of disk ${disk.logDiskId}`);
      if (theirs.algorithm !== algorithm || theirs.blockSize !== blockSize) {
        throw new AgentError('ERR_INVALID_STATE', `the replica answered a ${theirs.algorithm} manifest at ${theirs.blockSize}-byte blocks for disk ${disk.logDiskId}; ${algorithm} at ${blockSize} was asked for: is the replica server's hvreplica damaged or mixed? upgrade it and try again`);
      }
      const coarse = [...diffManifests(theirs, local)];
      const fine = await finePass(client, source.logVmId, disk, image, coarse, { position: content.Position!, referencePoint: content.ReferencePoint, coarseBlockSize: blockSize }, pool, signal);
      const extents = fine.extents;
      const differingBytes = extents.reduce((sum, e) => sum + e.length, 0);
      disks.push({ logDiskId: disk.logDiskId, virtualSize: disk.virtualSize, blockSize, finePass: fine.outcome, differingBytes });
      const header = cycleHeader(source.logVmId, disk, cycle, source.consistency ?? 'crash');
      const policy = options.codecPolicy;
      logs.push({ diskId: disk.logDiskId, header, encode: () => encodeLog(header, differenceRecords(image, extents), policy ? { codecPolicy: policy() } : {}) });
      log.verbose('disk compared', { vmId: source.logVmId, diskId: disk.logDiskId, blockSize, finePass: fine.outcome, differingBytes, virtualSize: disk.virtualSize });
    }
    await pool.close();
    await client.close();
    const sink = new TransportSink({
      uploader: new RetryingUploader(uploader, replica.retry ?? { attempts: 5 }),
      spoolDir: replica.spoolDir,
      ...(replica.parallelStreams ? { parallelStreams: replica.parallelStreams } : {}),
      ...(replica.onProgress ? { onProgress: replica.onProgress } : {}),
      onSpooled: () => sourceRead(source, opened),
    });
    const ack = await sink.deliver({ vmId: source.logVmId, generation: cycle.generation, sequence: cycle.sequence, logs }, signal);
    if (ack.generation !== cycle.generation || ack.sequence !== cycle.sequence) {
      throw new AgentError('ERR_INVALID_STATE', `the replica acknowledged ${ack.generation}/${ack.sequence} instead of ${cycle.generation}/${cycle.sequence}`);
    }
    const changedBytes = disks.reduce((sum, d) => sum + d.differingBytes, 0);
    const comparedBytes = disks.reduce((sum, d) => sum + d.virtualSize, 0);
    log.info('hash comparison delivered', { vmId: source.logVmId, generation: cycle.generation, sequence: cycle.sequence, comparedBytes, changedBytes, logBytes: ack.logBytes, finePass: disks.map((d) => d.finePass) });
    return { ...cycle, comparedBytes, changedBytes, logBytes: ack.logBytes, disks };
  } finally {
    client.destroy();
    await pool?.close();
    await uploader.close().catch(() => undefined);
    await closeImages(opened);
  }
}

/**
 * The second level of the comparison: the coarse blocks that differ and hold data are hashed in
 * HASH_SYNC_FINE_BLOCK_SIZE blocks here and on the replica at once, and only the fine blocks that differ
 * are kept. Coarse blocks that are zero here need no data and stay as they are. Skipped (the coarse
 * extents returned) when it cannot save much, or when the replica predates the digests route.
 */
async function finePass(
  client: ReplicaClient,
  logVmId: string,
  disk: HashSyncDisk,
  image: DiskImage,
  coarse: ChangedExtent[],
  content: { position: string; referencePoint: string; coarseBlockSize: number },
  pool: HashPool,
  signal: AbortSignal | undefined,
): Promise<{ extents: ChangedExtent[]; outcome: FinePassOutcome }> {
  const blockSize = HASH_SYNC_FINE_BLOCK_SIZE;
  const ranges: ByteRange[] = coarse.filter((e) => e.kind === 'data').map((e) => ({ offset: e.offset, length: e.length }));
  const dataBytes = ranges.reduce((sum, r) => sum + r.length, 0);
  const blocks = ranges.reduce((sum, r) => sum + Math.ceil(r.length / blockSize), 0);
  if (content.coarseBlockSize <= blockSize || dataBytes === 0 || dataBytes > disk.virtualSize * FINE_PASS_MAX_SHARE || ranges.length > FINE_PASS_MAX_RANGES || blocks > MAX_MANIFEST_BLOCKS) {
    return { extents: coarse, outcome: 'skipped' };
  }
  // Settled both ways: the local pass is never left running on the pool when the replica's answer fails.
  const [theirs, ours] = await Promise.allSettled([
    client.digests(logVmId, disk.logDiskId, { blockSize, algorithm: pool.algorithm, position: content.position, referencePoint: content.referencePoint, ranges }),
    hashRanges(image, ranges, { blockSize, pool, ...(signal ? { signal } : {}) }),
  ]);
  if (ours.status === 'rejected') throw ours.reason;
  if (theirs.status === 'rejected') {
    const error: unknown = theirs.reason;
    // A replica server from before the digests route answers "no such route": the coarse blocks go whole.
    if (error instanceof TransportError && error.code === 'ERR_NOT_FOUND') {
      log.info('the replica server serves no block digests (it predates them): the differing blocks go whole; upgrade it to send less', {
        diskId: disk.logDiskId,
        blockSize: content.coarseBlockSize,
        differingBytes: dataBytes,
        error: error.message,
      });
      return { extents: coarse, outcome: 'replica-too-old' };
    }
    throw error;
  }
  const fine = diffRangeDigests(ranges, theirs.value, ours.value, { algorithm: pool.algorithm, blockSize, virtualSize: disk.virtualSize });
  return { extents: [...coarse.filter((e) => e.kind === 'zero'), ...fine].sort((a, b) => a.offset - b.offset), outcome: 'compared' };
}

/** Closes what was opened and forgets it, so a second call (the cycle's cleanup) closes nothing twice. */
export async function closeImages(opened: DiskImage[]): Promise<void> {
  for (const image of opened.splice(0)) await image.close().catch(() => undefined);
}

/** The source is read in full: its images close and it hears so (onRead). */
export async function sourceRead(source: HashSyncSource, opened: DiskImage[]): Promise<void> {
  await closeImages(opened);
  await source.onRead?.();
}

export interface HashSyncVmOptions extends HashSyncOptions {
  host: HostAdapter;
  /** The VM's name or id on the host. */
  vm: string;
  /** The relationship's Replicator state file (agent/paths.ts primaryStateFile). */
  stateFile: string;
  replica: ReplicaConnection;
  consistency?: Consistency;
}

export interface HashSyncVmResult extends RemoteHashSyncResult {
  vmId: string;
  vmName: string;
  /** The host reference point now committed: the base of the next delta. */
  referencePoint: string;
}

/**
 * A host VM's frozen state to its replica by hash comparison, then the relationship continues with
 * ordinary deltas from that point. The point is committed only after the replica acknowledged and the
 * state was saved; any failure before discards it (the old state file is left as it was).
 */
export async function hashSyncVm(options: HashSyncVmOptions): Promise<HashSyncVmResult> {
  const { host } = options;
  const description = await host.getVm(options.vm);
  const vm = description.id;
  await settleLeftoverPoints(host, vm, description, await loadPrimaryState(options.stateFile));
  const point = await host.createReferencePoint(vm, { consistency: options.consistency ?? 'crash' });
  let result: RemoteHashSyncResult;
  try {
    result = await syncToReplica(
      options.replica,
      {
        logVmId: vmLogId(vm),
        disks: description.disks.map((d) => ({ id: d.id, logDiskId: diskLogId(vm, d.id), virtualSize: d.virtualSize, logicalSectorSize: d.logicalSectorSize })),
        open: (diskId) => host.openDiskAt(vm, point.id, diskId),
        referencePoint: point.id,
        consistency: point.consistency,
      },
      options,
    );
  } catch (error) {
    await host.discardReferencePoint(vm, point.id).catch((discardError: unknown) => {
      log.warn('discarding the reference point of a failed comparison failed; the next cycle retries', { vm: description.name, point: point.id, error: discardError });
    });
    throw error;
  }
  const disks: PrimaryState['disks'] = {};
  for (const disk of description.disks) {
    const tracked = point.disks.find((d) => d.diskId === disk.id);
    if (!tracked) throw new AgentError('ERR_INVALID_STATE', `reference point ${point.id} has no tracking id for disk '${disk.id}'`);
    disks[disk.id] = { logDiskId: diskLogId(vm, disk.id), trackingId: tracked.trackingId };
  }
  // Saved before the commit: a crash in between leaves a frozen point the next cycle recognises and commits.
  await savePrimaryState(options.stateFile, { formatVersion: 1, vmId: vm, generation: result.generation, sequence: result.sequence, referencePoint: point.id, disks });
  await host.commitReferencePoint(vm, point.id);
  return { ...result, vmId: vm, vmName: description.name, referencePoint: point.id };
}
