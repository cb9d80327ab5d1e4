/**
 * Moving disk content between a VM's disks and replica storage when the two sides already hold (mostly)
 * the same data: reverse replication and failback in one process, and the shared pieces of the network
 * comparison (src/agent/hash-sync.ts, src/replica/replica-content.ts). Each side's content is named by a
 * hash manifest; only the blocks whose digests differ are framed into a log, so only they travel.
 */
import type { DiskImage } from '../host/disk-image.js';
import type { VmConfiguration } from '../host/host-adapter.js';
import { diskLogId, vmLogId } from '../engine/ids.js';
import type { LogSink, OutgoingLog } from '../engine/log-sink.js';
import { chunkReads, DEFAULT_READ_WINDOW, readAhead, type PlannedRecord } from '../engine/read-ahead.js';
import { encodeLog, type LogRecordInput } from '../protocol/log-encoder.js';
import type { LogHeaderInput } from '../protocol/log-format.js';
import type { NestedRecordHash } from '../protocol/record-hash.js';
import type { ReplicaStorage } from '../storage/replica-storage.js';
import { diffManifests, hashImage, manifestId, type HashImageOptions, type HashManifest } from '../tracking/index.js';
import type { ChangedExtent } from '../tracking/change-tracker.js';
import type { VhdxDisk } from '../vhdx/index.js';

const READ_CHUNK = 1024 * 1024;

/** A VHDX chain opened by replica storage, seen as a DiskImage (what trackers and hashing read). */
export function imageOf(disk: VhdxDisk): DiskImage {
  return {
    virtualSize: disk.info.virtualSize,
    logicalSectorSize: disk.info.logicalSectorSize,
    read: (offset, length) => disk.read(offset, length),
    readInto: async (offset, into) => void (await disk.read(offset, into)),
    readRanges: (ranges, into, digests) => disk.readRanges(ranges, into, digests),
    hashBlocks: (algorithm, offset, length, blockSize) => disk.hashBlocks(algorithm, offset, length, blockSize),
    allocation: () => disk.map(),
    close: () => disk.close(),
  };
}

export function manifestOf(image: DiskImage, blockSize: number, options: Omit<HashImageOptions, 'blockSize'> = {}): Promise<HashManifest> {
  return hashImage(image, { ...options, blockSize });
}

/** A name for the whole content of an image: equal names, equal bytes (up to SHA-256). */
export async function contentId(image: DiskImage, blockSize: number): Promise<string> {
  return manifestId(await manifestOf(image, blockSize));
}

async function* readRange(image: DiskImage, offset: number, length: number): AsyncGenerator<LogRecordInput> {
  for (let at = offset; at < offset + length; at += READ_CHUNK) {
    const size = Math.min(READ_CHUNK, offset + length - at);
    yield { type: 'data', offset: at, data: await image.read(at, size) };
  }
}

/** Every byte of the image: data where it holds data, trim elsewhere (so nothing stale survives below). */
export async function* fullCopyRecords(image: DiskImage): AsyncGenerator<LogRecordInput> {
  const extents = image.allocation ? await image.allocation() : [{ offset: 0, length: image.virtualSize, state: 'data' as const }];
  for (const extent of extents) {
    if (extent.length === 0) continue;
    if (extent.state === 'data') yield* readRange(image, extent.offset, extent.length);
    else yield { type: 'trim', offset: extent.offset, length: extent.length };
  }
}

/**
 * The records that bring a copy to `image`'s content where the two differ: data read from `image`, or a
 * zero record where its block is all zeros. `count` sees the bytes of every extent (changed bytes). The
 * extents may arrive as they are found (an async iterable); the data of many small extents is read in one
 * request where the image can (a comparison's 4 KiB extents lie a few to a 64 KiB block), several requests
 * ahead of the encoder, with the digest of each extent by `digests` (a log whose record checksum is built on it: BLAKE3 or XXH3-128).
 */
export async function* differenceRecords(
  image: DiskImage,
  extents: Iterable<ChangedExtent> | AsyncIterable<ChangedExtent>,
  count: (n: number) => void = () => undefined,
  options: { digests?: NestedRecordHash } = {},
): AsyncGenerator<LogRecordInput> {
  async function* planned(): AsyncGenerator<PlannedRecord> {
    for await (const extent of extents) {
      count(extent.length);
      if (extent.kind === 'zero') yield { type: 'zero', offset: extent.offset, length: extent.length };
      else yield* chunkReads(extent.offset, extent.length, READ_CHUNK);
    }
  }
  yield* readAhead(planned(), async () => image, DEFAULT_READ_WINDOW, options);
}

export interface CyclePosition {
  generation: number;
  sequence: number;
  baseReferencePoint: string;
  newReferencePoint: string;
}

/** A disk as a log names it: the GUID its logs carry and its geometry. */
export interface LogDisk {
  logDiskId: string;
  virtualSize: number;
  logicalSectorSize: 512 | 4096;
}

/** The log header of one disk's log of a cycle (`logVmId`: the GUID the logs carry, vmLogId). */
export function cycleHeader(logVmId: string, disk: LogDisk, position: CyclePosition, consistency: LogHeaderInput['consistency'] = 'crash'): LogHeaderInput {
  return {
    vmId: logVmId,
    diskId: disk.logDiskId,
    generation: position.generation,
    sequence: position.sequence,
    baseReferencePoint: position.baseReferencePoint,
    newReferencePoint: position.newReferencePoint,
    virtualSize: disk.virtualSize,
    logicalSectorSize: disk.logicalSectorSize,
    consistency,
  };
}

function header(config: VmConfiguration, disk: VmConfiguration['disks'][number], position: CyclePosition): LogHeaderInput {
  return cycleHeader(vmLogId(config.id), { logDiskId: diskLogId(config.id, disk.id), virtualSize: disk.virtualSize, logicalSectorSize: disk.logicalSectorSize }, position);
}

/**
 * Fills new (empty) replica storage with the content of images that are on the same host, as a full
 * copy at generation 1 / sequence 0: local I/O only, nothing crosses the network. The images are read,
 * never written.
 */
export async function seedStorage(
  storage: ReplicaStorage,
  config: VmConfiguration,
  images: (hostDiskId: string) => Promise<DiskImage>,
  referencePoint: string,
): Promise<void> {
  const disks = config.disks.map((d) => ({ logDiskId: diskLogId(config.id, d.id), virtualSize: d.virtualSize, logicalSectorSize: d.logicalSectorSize, open: () => images(d.id) }));
  await seedStorageFrom(storage, vmLogId(config.id), disks, referencePoint);
}

/** seedStorage for disks named by their log ids (the replica server seeding from a copy of the disks). */
export async function seedStorageFrom(storage: ReplicaStorage, logVmId: string, disks: Array<LogDisk & { open(): Promise<DiskImage> }>, referencePoint: string): Promise<void> {
  for (const disk of disks) {
    const image = await disk.open();
    try {
      await storage.receive(encodeLog(cycleHeader(logVmId, disk, { generation: 1, sequence: 0, baseReferencePoint: '', newReferencePoint: referencePoint }), fullCopyRecords(image)));
    } finally {
      await image.close();
    }
  }
  await storage.applyPending();
}

export interface HashSyncResult {
  /** Bytes of the blocks that differed (what the log carried before compression). */
  changedBytes: number;
  /** Bytes of log delivered. */
  logBytes: number;
}

/**
 * Brings `target` to the content of the source images by sending only the blocks whose hashes differ,
 * as one cycle at `position` delivered through `sink` (a LocalSink in-process, the transport otherwise).
 */
export async function syncByHash(options: {
  config: VmConfiguration;
  source: (hostDiskId: string) => Promise<DiskImage>;
  target: ReplicaStorage;
  sink: LogSink;
  position: CyclePosition;
  blockSize: number;
}): Promise<HashSyncResult> {
  const { config, target, position, blockSize } = options;
  let changedBytes = 0;
  const opened: DiskImage[] = [];
  try {
    const logs: OutgoingLog[] = [];
    for (const disk of config.disks) {
      const source = await options.source(disk.id);
      opened.push(source);
      const sourceManifest = await manifestOf(source, blockSize);
      // The receiving side's manifest: in the network case the replica computes it and sends it back.
      const replica = imageOf(await target.openLatest(diskLogId(config.id, disk.id)));
      let targetManifest: HashManifest;
      try {
        targetManifest = await manifestOf(replica, blockSize);
      } finally {
        await replica.close();
      }
      const differing = [...diffManifests(targetManifest, sourceManifest)];
      const h = header(config, disk, position);
      logs.push({ diskId: h.diskId, header: h, encode: (options) => encodeLog(h, differenceRecords(source, differing, (n) => (changedBytes += n)), options) });
    }
    const ack = await options.sink.deliver({ vmId: vmLogId(config.id), generation: position.generation, sequence: position.sequence, logs });
    return { changedBytes, logBytes: ack.logBytes };
  } finally {
    for (const image of opened) await image.close();
  }
}
