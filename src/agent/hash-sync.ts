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
import { cycleHeader, differenceRecords } from '../failover/disk-sync.js';
import type { DiskImage } from '../host/disk-image.js';
import type { Consistency, HostAdapter, ReferencePoint } from '../host/host-adapter.js';
import { logger } from '../logging/logger.js';
import { encodeLog } from '../protocol/log-encoder.js';
import { ReplicationPosition, type CodecPolicy } from '../protocol/index.js';
import { isNestedRecordHash } from '../protocol/record-hash.js';
import type { HostCredential } from '../security/index.js';
import { PREFERRED_SYNC_ALGORITHMS, type HashAlgorithm } from '../tracking/hash/hash-algorithm.js';
import { algorithmsWorthUsingHere } from '../tracking/hash/block-digest.js';
import { HashPool } from '../tracking/hash/hash-pool.js';
import { ReplicaClient, type ReplicaEndpoint } from '../transport/http2-client.js';
import { Http2LogUploader, RetryingUploader, type RetryOptions } from '../transport/log-uploader.js';
import { agreedAlgorithm, manifestBlockSize, type ReplicaContentStatus } from '../transport/manifest-wire.js';
import { TransportSink, type DeliveryProgress } from '../transport/transport-sink.js';
import { AgentError } from './errors.js';
import { ExtentFeed } from './extent-feed.js';
import { compareStreamed, type FinePassOutcome } from './streamed-comparison.js';

export { HASH_SYNC_FINE_BLOCK_SIZE, type FinePassOutcome } from './streamed-comparison.js';

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
  /** The algorithms to ask for, best first (default PREFERRED_SYNC_ALGORITHMS); SHA-256 when the replica lists none of them. */
  algorithms?: readonly HashAlgorithm[];
  /** The comparison's connection, opened ahead by the caller (syncToReplica closes it); else opened here. */
  connected?: Promise<ReplicaClient>;
}

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
 *
 * The disks are compared one after the other, each while it is hashed (streamed-comparison.ts); the cycle's
 * delivery starts once the last disk's comparison may stream (its manifest checked, little left to hash), so
 * its log is encoded and uploaded while the rest of it is still hashed. A source that stays readable until the
 * cycle ends (no onRead) is encoded straight into the upload; one that must be let go early is spooled.
 */
export async function syncToReplica(replica: ReplicaConnection, source: HashSyncSource, options: HashSyncOptions = {}): Promise<RemoteHashSyncResult> {
  // Ends at the resync's cancel, and the uploader's at its close too.
  const connect = (closing?: AbortSignal) =>
    ReplicaClient.connect(replica.endpoint, replica.credential, { signal: AbortSignal.any([options.signal, closing].filter((s): s is AbortSignal => s !== undefined)) });
  const client = await (options.connected ?? connect());
  const opened: DiskImage[] = [];
  const uploader = new Http2LogUploader(connect);
  // Stops the comparisons when the delivery failed (the cycle fails as a whole).
  const stopComparing = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stopComparing.signal]) : stopComparing.signal;
  let pool: HashPool | undefined;
  let comparing: Promise<HashSyncDiskResult[]> | undefined;
  try {
    // XXH3-128 when the replica server computes it (protocol 5 lists it in the hello), else BLAKE3 when it does
    // (protocol 3) and this CPU has a SIMD path for it, else SHA-256 (an older server, or a CPU where SHA-256 is
    // the faster).
    const algorithm = agreedAlgorithm(await client.hello(signal), options.algorithms ?? PREFERRED_SYNC_ALGORITHMS, algorithmsWorthUsingHere());
    // One pool for every disk and both levels: starting workers (SHA-256) costs tens of milliseconds each.
    const hashPool = (pool = new HashPool(algorithm, options.hashParallelism));
    const content = await client.content(source.logVmId, signal);
    const position = checkComparable(content, source);
    const against = { position: content.Position!, referencePoint: content.ReferencePoint };
    const cycle = { generation: position.generation, sequence: position.sequence + 1, baseReferencePoint: content.ReferencePoint, newReferencePoint: source.referencePoint };
    const feeds = source.disks.map(() => new ExtentFeed());
    let streamable!: () => void;
    const mayDeliver = new Promise<void>((resolve) => (streamable = resolve));
    comparing = (async () => {
      const disks: HashSyncDiskResult[] = [];
      for (const [i, disk] of source.disks.entries()) {
        const feed = feeds[i]!;
        try {
          signal.throwIfAborted();
          const image = await source.open(disk.id);
          opened.push(image);
          const blockSize = manifestBlockSize(disk.virtualSize, options.blockSize ?? HASH_SYNC_BLOCK_SIZE, HASH_SYNC_MAX_BLOCKS);
          const last = i === source.disks.length - 1;
          const finePass = await compareStreamed({ client, logVmId: source.logVmId, logDiskId: disk.logDiskId, virtualSize: disk.virtualSize, image, blockSize, pool: hashPool, content: against, feed, signal, ...(last ? { onStreamable: streamable } : {}) });
          disks.push({ logDiskId: disk.logDiskId, virtualSize: disk.virtualSize, blockSize, finePass, differingBytes: feed.differingBytes });
          log.verbose('disk compared', { vmId: source.logVmId, diskId: disk.logDiskId, blockSize, finePass, differingBytes: feed.differingBytes, virtualSize: disk.virtualSize });
        } catch (error) {
          // The logs not compared yet must not wait for ever: they fail with the comparison.
          for (const later of feeds.slice(i)) later.fail(error);
          throw error;
        }
      }
      return disks;
    })();
    // Observed at once: a comparison failing before the delivery starts is thrown below, not unhandled.
    comparing.catch(() => undefined);
    await Promise.race([mayDeliver, comparing]);
    const logs: OutgoingLog[] = source.disks.map((disk, i) => {
      const header = cycleHeader(source.logVmId, disk, cycle, source.consistency ?? 'crash');
      const policy = options.codecPolicy;
      const image = () => opened[i]!;
      return { diskId: disk.logDiskId, header, encode: (options) =>
          // Read with their record checksums when the log's are built on a payload digest, BLAKE3 or XXH3-128 (the read's native job computes them as it reads).
          encodeLog(header, differenceRecords(image(), feeds[i]!.read(), undefined, options?.recordHash !== undefined && isNestedRecordHash(options.recordHash) ? { digests: options.recordHash } : {}), { ...options, ...(policy ? { codecPolicy: policy() } : {}) }),
      };
    });
    const sink = new TransportSink({
      uploader: new RetryingUploader(uploader, replica.retry ?? { attempts: 5 }),
      spoolDir: replica.spoolDir,
      ...(replica.parallelStreams ? { parallelStreams: replica.parallelStreams } : {}),
      ...(replica.onProgress ? { onProgress: replica.onProgress } : {}),
      // Spooled only when the source must be let go before the upload ends; else encoded into the upload.
      ...(source.onRead ? { onSpooled: () => sourceRead(source, opened) } : {}),
    });
    const delivering = sink.deliver({ vmId: source.logVmId, generation: cycle.generation, sequence: cycle.sequence, logs }, options.signal);
    const [compared, delivered] = await Promise.allSettled([
      comparing.finally(() => client.close()),
      delivering.catch((error: unknown) => {
        stopComparing.abort(error);
        throw error;
      }),
    ]);
    // A comparison's own failure is the cause; the delivery then failed with it (its encoder read the failed feed).
    if (compared.status === 'rejected' && !(stopComparing.signal.aborted && compared.reason === stopComparing.signal.reason)) throw compared.reason;
    if (delivered.status === 'rejected') throw delivered.reason;
    if (compared.status === 'rejected') throw compared.reason;
    const ack = delivered.value;
    const disks = compared.value;
    if (ack.generation !== cycle.generation || ack.sequence !== cycle.sequence) {
      throw new AgentError('ERR_INVALID_STATE', `the replica acknowledged ${ack.generation}/${ack.sequence} instead of ${cycle.generation}/${cycle.sequence}`);
    }
    const changedBytes = disks.reduce((sum, d) => sum + d.differingBytes, 0);
    const comparedBytes = disks.reduce((sum, d) => sum + d.virtualSize, 0);
    log.info('hash comparison delivered', { vmId: source.logVmId, generation: cycle.generation, sequence: cycle.sequence, comparedBytes, changedBytes, logBytes: ack.logBytes, finePass: disks.map((d) => d.finePass) });
    return { ...cycle, comparedBytes, changedBytes, logBytes: ack.logBytes, disks };
  } finally {
    stopComparing.abort(new Error('the comparison is over'));
    await comparing?.catch(() => undefined);
    client.destroy();
    await pool?.close();
    await uploader.close().catch(() => undefined);
    await closeImages(opened);
  }
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
  // The TLS handshake runs while the reference point is taken (file writes and fsyncs: the main thread waits).
  const connected = ReplicaClient.connect(options.replica.endpoint, options.replica.credential, options.signal ? { signal: options.signal } : {});
  // Observed at once: a failed connect is thrown by syncToReplica, which awaits it, not reported unhandled.
  connected.catch(() => undefined);
  let point: ReferencePoint;
  try {
    await settleLeftoverPoints(host, vm, description, await loadPrimaryState(options.stateFile));
    point = await host.createReferencePoint(vm, { consistency: options.consistency ?? 'crash' });
  } catch (error) {
    connected.then((client) => client.destroy(), () => undefined);
    throw error;
  }
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
      { ...options, connected },
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
