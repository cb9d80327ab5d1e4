/**
 * What a replica holds of a VM, for a primary that compares by hash instead of trusting its change
 * tracking (resynchronisation, initial replication from a copy, reverse and extended replication):
 *   - the position and disks of the latest applied content;
 *   - the hash manifest of one disk's latest applied content, at a block size the primary chooses;
 *   - seeding a new replica from a copy of the disks the administrator put on this host
 *     (`hvreplica initial import --use-backup`), so that only the blocks that differ cross the network.
 * Authorization is the log uploads': the server checked the certificate and the authorization entry,
 * and the VM must belong to the entry's trust group.
 *
 * Hashing reads a whole disk, so it is kept off the upload path: the digests are computed by the hash
 * worker pool, only a few manifests are computed at once server-wide (other VMs' uploads go on), and
 * finished manifests are kept (bounded) until the content moves on, so a primary that lost its connection
 * and asks again, or a second request for the same content, gets the finished one. The VM's storage lock
 * is held while hashing, so the manifest is of exactly the content at the position it names.
 * Each manifest is also kept on disk beside the storage (kept-manifest.ts) and, with options.keep, kept up
 * to date in the background (manifest-keeper.ts): a later comparison re-hashes only the blocks of the
 * layers written since, not the whole disk.
 */
import { access } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { diskLogId } from '../engine/ids.js';
import { imageOf, seedStorageFrom } from '../failover/disk-sync.js';
import { VhdxImage } from '../host/vhdx-image.js';
import { logger } from '../logging/logger.js';
import type { ReplicaVmDefinition } from '../protocol/index.js';
import type { VhdxReplicaStorage } from '../storage/vhdx-replica-storage.js';
import { hashImage, hashRanges, type ByteRange } from '../tracking/index.js';
import { blockCountOf, validateBlockSize, type HashManifest } from '../tracking/hash/manifest.js';
import { DEFAULT_HASH_ALGORITHM, HASH_ALGORITHMS, type HashAlgorithm } from '../tracking/hash/hash-algorithm.js';
import { BackupCopies, type BackupCopy } from './backup-copies.js';
import { ReplicaError } from './errors.js';
import { bringUpToDate, chainIdentity, loadKept, saveKept, type ContentPosition, type ManifestKind } from './kept-manifest.js';
import { ManifestKeeper, type ManifestKeeperOptions } from './manifest-keeper.js';
import type { PrimaryAuthorization } from './replica-service.js';
import type { ReplicaVms } from './replica-vms.js';
import { VmRegistry } from './vm-registry.js';
import { MAX_DIGEST_RANGES, MAX_MANIFEST_BLOCKS } from '../transport/manifest-wire.js';

// The wire's bounds, defined with the routes (the primary imports them without the server's modules).
export { MAX_DIGEST_RANGES, MAX_MANIFEST_BLOCKS, manifestBytes } from '../transport/manifest-wire.js';

const log = logger('replica-content');

/** Block size when the primary names none (the hash tracker's default). */
export const DEFAULT_MANIFEST_BLOCK_SIZE = 1024 * 1024;

/** A disk as the replica holds it (the geometry the primary's disk must have to be compared). */
export interface ContentDisk {
  DiskId: string;
  VirtualSize: number;
  LogicalSectorSize: 512 | 4096;
}

export interface ReplicaContentStatus {
  VMId: string;
  /** `generation/sequence` of the latest applied cycle; null before the initial replication. */
  Position: string | null;
  /** The primary's reference point the replica is at ('' before the initial replication). */
  ReferencePoint: string;
  Disks: ContentDisk[];
}

export interface DiskManifest {
  status: ReplicaContentStatus;
  /** The encoded manifest (HVRHMAN1, self-checksummed). */
  manifest: Buffer;
}

/** The fine pass of a two-level comparison: digests of the blocks of a few ranges of one disk. */
export interface DigestRequest {
  blockSize: number;
  /** Default SHA-256 (what a primary before protocol 3 means). */
  algorithm?: HashAlgorithm;
  /** The content the coarse manifest described (`generation/sequence`, reference point): it must still be it. */
  position: string;
  referencePoint: string;
  ranges: ByteRange[];
}

export interface BackupSeedResult extends ReplicaContentStatus {
  /** The folder the copy was read from. */
  BackupPath: string;
  /** False when the replica already held content (a retried request): nothing was copied again. */
  Seeded: boolean;
}

/** The wire's view of this service (the server calls only this). */
export interface ReplicaContentHandler {
  /** What the manifest and digests routes compute; the hello lists them (protocol 3). */
  readonly hashAlgorithms: readonly HashAlgorithm[];
  content(auth: PrimaryAuthorization, vmId: string): Promise<ReplicaContentStatus>;
  manifest(auth: PrimaryAuthorization, vmId: string, diskId: string, blockSize: number | undefined, algorithm?: HashAlgorithm): Promise<DiskManifest>;
  digests(auth: PrimaryAuthorization, vmId: string, diskId: string, request: DigestRequest): Promise<Buffer>;
  seedFromBackup(auth: PrimaryAuthorization, definition: ReplicaVmDefinition): Promise<BackupSeedResult>;
}

export interface ReplicaContentOptions {
  /** Manifests computed at once on this server (default 2). */
  concurrentManifests?: number;
  /** Hash worker threads per manifest (default one per core: the primary hashes its side meanwhile, and a lone manifest should not leave cores idle once it is done). */
  hashParallelism?: number;
  /** Bytes of finished manifests kept for repeated requests (default 256 MiB). */
  cacheBytes?: number;
  /** Keep the manifests up to date in the background (manifest-keeper.ts); none when undefined. */
  keep?: ManifestKeeperOptions;
  /** Algorithms served (default all of HASH_ALGORITHMS); tests narrow it to stand for an older server. */
  hashAlgorithms?: readonly HashAlgorithm[];
}

/** A counting semaphore: at most `size` bodies run at once, the others wait in order. */
class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];
  constructor(size: number) {
    this.free = size;
  }

  async run<T>(body: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await body();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    }
  }
}

type StorageStatus = Awaited<ReturnType<VhdxReplicaStorage['status']>>;

function statusOf(vmId: string, status: StorageStatus): ReplicaContentStatus {
  return {
    VMId: vmId,
    Position: status.position?.toString() ?? null,
    ReferencePoint: status.referencePoint,
    Disks: status.disks.map((d) => ({ DiskId: d.diskId, VirtualSize: d.virtualSize, LogicalSectorSize: d.logicalSectorSize })),
  };
}

function checkedBlockSize(blockSize: number): number {
  try {
    validateBlockSize(blockSize);
  } catch (error) {
    throw new ReplicaError('ERR_INVALID_ARGUMENT', (error as Error).message);
  }
  return blockSize;
}

function diskOf(status: StorageStatus, vmId: string, diskId: string): StorageStatus['disks'][number] {
  const disk = status.disks.find((d) => d.diskId === diskId);
  if (!disk) throw new ReplicaError('ERR_NOT_FOUND', `replica VM ${vmId} has no disk ${diskId}`);
  return disk;
}

export class ReplicaContentService implements ReplicaContentHandler {
  readonly hashAlgorithms: readonly HashAlgorithm[];
  private readonly vms: VmRegistry;
  private readonly backups: BackupCopies;
  private readonly slots: Slots;
  private readonly hashParallelism: number;
  private readonly cacheBytes: number;
  /** Finished manifests by content key; insertion order is the eviction order. */
  private readonly cache = new Map<string, Buffer>();
  private readonly keeper: ManifestKeeper | undefined;

  constructor(
    stateDir: string,
    private readonly replicas: ReplicaVms,
    options: ReplicaContentOptions = {},
  ) {
    this.hashAlgorithms = options.hashAlgorithms ?? HASH_ALGORITHMS;
    this.vms = new VmRegistry(stateDir);
    this.backups = new BackupCopies(stateDir);
    this.slots = new Slots(options.concurrentManifests ?? 2);
    this.hashParallelism = options.hashParallelism ?? availableParallelism();
    this.cacheBytes = options.cacheBytes ?? 256 * 1024 * 1024;
    this.keeper = options.keep && new ManifestKeeper(stateDir, (vmDir, purpose, body) => this.locked(vmDir, purpose, body), { uploads: replicas.uploads, ...options.keep });
  }

  /** Starts keeping the manifests up to date in the background (when options.keep says how). */
  start(): void {
    this.keeper?.start();
  }

  /** Stops the background work (at its next slice). */
  async close(): Promise<void> {
    await this.keeper?.close();
  }

  /** The VM's replica folder, for a primary of its trust group; ERR_NOT_FOUND when there is none. */
  private async vmDir(auth: PrimaryAuthorization, vmId: string): Promise<string> {
    if (!(await this.vms.get(vmId))) throw new ReplicaError('ERR_NOT_FOUND', `this replica server holds no replica of VM ${vmId}; start its initial replication first`);
    return (await this.vms.open(vmId, auth.entry, auth.primaryServerName, { id: auth.relationshipId, replace: false })).Path;
  }

  /**
   * Runs `body` on the VM's storage under its storage lock (src/replica/storage-lock.ts): no receive, apply,
   * seal, merge or failover changes the content meanwhile, so what `body` reads is one consistent state.
   */
  private locked<T>(vmDir: string, purpose: string, body: (storage: VhdxReplicaStorage) => Promise<T>): Promise<T> {
    return this.replicas.withStorage(vmDir, `replica server: ${purpose}`, body);
  }

  async content(auth: PrimaryAuthorization, vmId: string): Promise<ReplicaContentStatus> {
    return this.locked(await this.vmDir(auth, vmId), 'content', async (storage) => statusOf(storage.vmId, await storage.status()));
  }

  async manifest(auth: PrimaryAuthorization, vmId: string, diskId: string, requested: number | undefined, algorithm: HashAlgorithm = DEFAULT_HASH_ALGORITHM): Promise<DiskManifest> {
    const blockSize = checkedBlockSize(requested ?? DEFAULT_MANIFEST_BLOCK_SIZE);
    this.checkAlgorithm(algorithm);
    const vmDir = await this.vmDir(auth, vmId);
    // A slot first, then the lock: waiting for a slot must not hold the VM's storage.
    return this.slots.run(() =>
      this.locked(vmDir, 'hash manifest', async (storage) => {
        const status = await storage.status();
        const disk = diskOf(status, vmId, diskId);
        if (!status.position) throw new ReplicaError('ERR_INVALID_STATE', `replica VM ${vmId} holds no content yet: nothing to compare against; run the initial replication`);
        const blocks = blockCountOf(disk.virtualSize, blockSize);
        if (blocks > MAX_MANIFEST_BLOCKS) {
          throw new ReplicaError('ERR_INVALID_ARGUMENT', `a manifest of disk ${diskId} at ${blockSize}-byte blocks has ${blocks} digests, more than the ${MAX_MANIFEST_BLOCKS} one answer carries; ask for larger blocks`);
        }
        // A position names one content, except a superseding cycle (same position, newer reference point).
        const key = `${vmDir}|${diskId}|${blockSize}|${algorithm}|${status.position.toString()}|${status.referencePoint}`;
        let bytes = this.cache.get(key);
        if (!bytes) {
          bytes = await this.current(storage, diskId, { blockSize, algorithm }, { position: status.position.toString(), referencePoint: status.referencePoint });
          this.remember(key, bytes);
        }
        return { status: statusOf(storage.vmId, status), manifest: bytes };
      }),
    );
  }

  /**
   * Digests of the `blockSize` blocks of `request.ranges` of the disk's latest content, concatenated in
   * order; refused (ERR_BUSY) when the content is no longer the one the primary compared against.
   */
  async digests(auth: PrimaryAuthorization, vmId: string, diskId: string, request: DigestRequest): Promise<Buffer> {
    const { ranges } = request;
    const blockSize = checkedBlockSize(request.blockSize);
    const algorithm = request.algorithm ?? DEFAULT_HASH_ALGORITHM;
    this.checkAlgorithm(algorithm);
    if (ranges.length > MAX_DIGEST_RANGES) throw new ReplicaError('ERR_INVALID_ARGUMENT', `a digests request names at most ${MAX_DIGEST_RANGES} ranges, this one ${ranges.length}; ask for fewer, larger ranges`);
    const blocks = ranges.reduce((sum, r) => sum + Math.ceil(r.length / blockSize), 0);
    if (blocks > MAX_MANIFEST_BLOCKS) throw new ReplicaError('ERR_INVALID_ARGUMENT', `the ranges hold ${blocks} blocks of ${blockSize} bytes, more than the ${MAX_MANIFEST_BLOCKS} one answer carries; ask for larger blocks`);
    const vmDir = await this.vmDir(auth, vmId);
    return this.slots.run(() =>
      this.locked(vmDir, 'block digests', async (storage) => {
        const status = await storage.status();
        diskOf(status, vmId, diskId);
        const position = status.position?.toString() ?? '';
        if (position !== request.position || status.referencePoint !== request.referencePoint) {
          throw new ReplicaError('ERR_BUSY', `replica VM ${vmId} moved from ${request.position} to ${position || 'nothing'} since its manifest was taken: another primary sends to it? compare again`);
        }
        const image = imageOf(await storage.openLatest(diskId));
        try {
          return await hashRanges(image, ranges, { blockSize, algorithm, parallelism: this.hashParallelism });
        } catch (error) {
          if (error instanceof RangeError) throw new ReplicaError('ERR_INVALID_ARGUMENT', `disk ${diskId}: ${error.message}`);
          throw error;
        } finally {
          await image.close();
        }
      }),
    );
  }

  /**
   * The manifest of the disk's content now: the kept one brought up to date when what changed since can be
   * told (kept-manifest.ts), else computed in full; kept for the next comparison either way.
   */
  private async current(storage: VhdxReplicaStorage, diskId: string, kind: ManifestKind, now: ContentPosition): Promise<Buffer> {
    const { blockSize, algorithm } = kind;
    const started = Date.now();
    const kept = await loadKept(storage.root, diskId, kind);
    const updated = kept && (await bringUpToDate(storage, kept, now, { parallelism: this.hashParallelism }));
    if (updated) {
      log.info('manifest from the kept one', { vmId: storage.vmId, diskId, blockSize, algorithm, position: now.position, ms: Date.now() - started });
      return updated;
    }
    const chain = await chainIdentity(storage, diskId);
    const image = imageOf(await storage.openLatest(diskId));
    let manifest: HashManifest;
    try {
      manifest = await hashImage(image, { blockSize, algorithm, parallelism: this.hashParallelism });
    } finally {
      await image.close();
    }
    log.info('manifest computed', { vmId: storage.vmId, diskId, blockSize, algorithm, position: now.position, ms: Date.now() - started });
    return saveKept(storage.root, { meta: { format: 1, diskId, blockSize, ...now, chain }, manifest });
  }

  private checkAlgorithm(algorithm: HashAlgorithm): void {
    if (!this.hashAlgorithms.includes(algorithm)) throw new ReplicaError('ERR_INVALID_ARGUMENT', `this replica server computes ${this.hashAlgorithms.join(', ')} digests, not ${algorithm}`);
  }

  /** Keeps a finished manifest; the oldest go once the total passes the bound. */
  private remember(key: string, bytes: Buffer): void {
    this.cache.set(key, bytes);
    let total = [...this.cache.values()].reduce((sum, b) => sum + b.length, 0);
    for (const [old, value] of this.cache) {
      if (total <= this.cacheBytes || old === key) break;
      this.cache.delete(old);
      total -= value.length;
    }
  }

  async seedFromBackup(auth: PrimaryAuthorization, definition: ReplicaVmDefinition): Promise<BackupSeedResult> {
    const copy = await this.backups.find(definition.VMName);
    if (!copy) {
      throw new ReplicaError(
        'ERR_NOT_FOUND',
        `no copy of VM '${definition.VMName}' is registered on this replica server; put a copy of its disks here and run "hvreplica initial import --vm-name ${definition.VMName} --use-backup --path <folder>" first`,
      );
    }
    const disks = matchDisks(definition, copy);
    const vmDir = (await this.vms.open(definition.VMId, auth.entry, auth.primaryServerName, { id: auth.relationshipId, replace: true })).Path;
    if (await exists(join(vmDir, 'state.json'))) {
      const status = await this.locked(vmDir, 'content', (storage) => storage.status());
      if (status.position) return { ...statusOf(status.vmId, status), BackupPath: copy.Path, Seeded: false };
    }
    // Creates the storage (and the failover record), or checks that one left by an interrupted attempt has these disks.
    await this.replicas.define(vmDir, definition, auth.primaryServerName);
    log.info('seeding a replica from a copy of its disks', { vm: definition.VMName, path: copy.Path, disks: disks.length });
    const status = await this.locked(vmDir, 'seed from a copy', async (storage) => {
      await seedStorageFrom(
        storage,
        definition.VMId,
        disks.map((d) => ({ ...d, open: () => VhdxImage.open(d.path) })),
        `backup-${copy.Id}`,
      );
      return storage.status();
    });
    if (!status.position) throw new ReplicaError('ERR_INVALID_STATE', `seeding the replica of '${definition.VMName}' from ${copy.Path} did not complete; try again`);
    return { ...statusOf(status.vmId, status), BackupPath: copy.Path, Seeded: true };
  }
}

/**
 * Which file of the copy holds which disk: the file named after the primary's disk (its id on the host,
 * as the file host names disks after their files), or the only file when the VM has only one disk. Sizes
 * must match exactly: a copy of another size is another disk, and comparing it would be meaningless.
 */
export function matchDisks(definition: ReplicaVmDefinition, copy: BackupCopy): Array<{ logDiskId: string; virtualSize: number; logicalSectorSize: 512 | 4096; path: string }> {
  const config = definition.Configuration as { id?: unknown; disks?: unknown };
  const hostVmId = typeof config.id === 'string' ? config.id : definition.VMId;
  const hostDisks = Array.isArray(config.disks) ? config.disks : [];
  const hostId = new Map<string, string>();
  for (const d of hostDisks) {
    const id = (d as { id?: unknown }).id;
    if (typeof id === 'string') hostId.set(diskLogId(hostVmId, id), id);
  }
  return definition.Disks.map((disk) => {
    const name = hostId.get(disk.DiskId);
    let file = name === undefined ? undefined : copy.Disks.find((f) => f.Name.toLowerCase() === name.toLowerCase());
    if (!file && definition.Disks.length === 1 && copy.Disks.length === 1) file = copy.Disks[0];
    if (!file) {
      throw new ReplicaError(
        'ERR_INVALID_ARGUMENT',
        `the copy in ${copy.Path} has no file for disk '${name ?? disk.DiskId}' of VM '${definition.VMName}' (it holds ${copy.Disks.map((f) => f.File).join(', ')}); name each copy after the primary's disk (${name ?? disk.DiskId}.vhdx)`,
      );
    }
    if (file.VirtualSize !== disk.VirtualSize || file.LogicalSectorSize !== disk.LogicalSectorSize) {
      throw new ReplicaError(
        'ERR_INVALID_ARGUMENT',
        `the copy ${file.File} is ${file.VirtualSize} bytes with ${file.LogicalSectorSize}-byte sectors, but disk '${name ?? disk.DiskId}' of VM '${definition.VMName}' on the primary is ${disk.VirtualSize} bytes with ${disk.LogicalSectorSize}-byte sectors; a copy is compared only with a disk of the same size: use a copy of this disk, or replicate over the network`,
      );
    }
    return { logDiskId: disk.DiskId, virtualSize: disk.VirtualSize, logicalSectorSize: disk.LogicalSectorSize, path: join(copy.Path, file.File) };
  });
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
