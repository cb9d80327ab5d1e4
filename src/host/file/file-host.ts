/**
 * The portable `file` host: a VM is a folder with vm.json and its VHDX disks; reference points are real
 * `.avhdx` differencing layers, as Hyper-V makes them; start and stop are recorded states.
 *
 * Reference points and writers agree through the VM lock (vm-lock.ts): a writer takes it for each batch,
 * reads vm.json, writes into each disk's current layer and closes it before letting go; a reference point
 * takes it, adds a layer on top of every disk and records it in vm.json. No write can land in a frozen
 * layer and none is lost: each batch goes entirely before or entirely after the point.
 *
 * Commit of point P: the layers frozen below P are merged down into the base, the lowest layer above
 * them is re-parented onto the base (the engine checks the base now shows what that layer's parent
 * showed), and the merged files are retired (moved to `.retired/`, layers.ts). Layers above P keep their files, so change tracking is untouched. Discard of the newest point merges its new layer back into the layer below.
 * Retired files are deleted in the background when the next commit or discard begins: after the replica
 * acknowledged that cycle, never while a cycle reads and sends its changes (see sweepRetired).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { logger } from '../../logging/logger.js';
import { CheckpointTracker, type CheckpointLayer } from '../../tracking/checkpoint/checkpoint-tracker.js';
import { changedBytesOf, type ChangeTracker, type TrackingId } from '../../tracking/change-tracker.js';
import { createDisk, mergeDisk, openDisk, type VhdxDisk } from '../../vhdx/index.js';
import type { DiskImage } from '../disk-image.js';
import { HostError } from '../host-error.js';
import type {
  CreateReferencePointOptions,
  CreateTestVmOptions,
  FailoverNetworkSettings,
  HostAdapter,
  NetworkAdapter,
  ReferencePoint,
  RegisterReplicaOptions,
  ReplicaDiskSource,
  StopOptions,
  UnregisterVmOptions,
  VmConfiguration,
  VmDescription,
  VmDisk,
  VmSummary,
} from '../host-adapter.js';
import { VhdxImage } from '../vhdx-image.js';
import { carryLayer, flattenedBase, pruneFolder } from '../disk-chain.js';
import { createLayer, currentFile, deleteRetired, foldIntoBase, newLayerName, removeFiles, resolveFile, retireFiles, RETIRED_DIR } from './layers.js';
import { validateFailoverSettings, validateVmName, VM_CONFIG_SCHEMA, type DiskRecord, type PointRecord, type VmRecord } from './vm-config.js';
import { allVms, findVm, linkFolder, readVm, unlinkFolder, writeVm } from './vm-folders.js';
import { withVmLock } from './vm-lock.js';

const log = logger('host.file');

export interface FileHostOptions {
  /** Folder holding one sub-folder per VM. */
  root: string;
}

export interface NewVmSpec {
  name: string;
  /** Virtual size of each disk in bytes (disk0, disk1, …). */
  disks: number[];
  generation?: 1 | 2;
  processorCount?: number;
  memoryBytes?: number;
  /** VHDX block size of the new disks (default the engine's: 32 MiB). */
  blockSize?: number;
  networkAdapters?: NetworkAdapter[];
}

/** One disk opened for writing by a writer holding the VM lock. */
export interface WritableDisk {
  diskId: string;
  /** The layer file being written (relative to the VM folder, or absolute). */
  file: string;
  disk: VhdxDisk;
}

function summary(record: VmRecord): VmSummary {
  return { id: record.id, name: record.name, state: record.state, isReplica: record.isReplica, isTestVm: record.isTestVm };
}

function configuration(record: VmRecord): VmConfiguration {
  const out: VmConfiguration = {
    id: record.id,
    name: record.name,
    generation: record.generation,
    processorCount: record.processorCount,
    memoryBytes: record.memoryBytes,
    networkAdapters: record.networkAdapters,
    disks: record.disks.map((d) => ({ id: d.id, virtualSize: d.virtualSize, logicalSectorSize: d.logicalSectorSize })),
  };
  if (record.notes !== undefined) out.notes = record.notes;
  return out;
}

function point(folder: string, record: VmRecord, p: PointRecord): ReferencePoint {
  return {
    id: p.id,
    vmId: record.id,
    createdAt: p.createdAt,
    consistency: p.consistency,
    tracker: 'checkpoint',
    state: p.state,
    disks: p.disks.map((d) => ({ diskId: d.diskId, trackingId: p.id, frozenPath: resolveFile(folder, d.frozenFile) })),
  };
}

function findPoint(record: VmRecord, pointId: string): PointRecord {
  const found = record.referencePoints.find((p) => p.id === pointId);
  if (!found) {
    throw new HostError('ERR_NOT_FOUND', `VM '${record.name}' has no reference point '${pointId}' (it has: ${record.referencePoints.map((p) => p.id).join(', ') || 'none'})`);
  }
  return found;
}

function findDisk(record: VmRecord, diskId: string): DiskRecord {
  const found = record.disks.find((d) => d.id === diskId);
  if (!found) throw new HostError('ERR_NOT_FOUND', `VM '${record.name}' has no disk '${diskId}' (it has: ${record.disks.map((d) => d.id).join(', ')})`);
  return found;
}

export class FileHost implements HostAdapter {
  readonly kind = 'file' as const;
  /** Per VM folder: the deletion of retired layers running after a commit or discard (one at a time). */
  private readonly sweeps = new Map<string, Promise<void>>();

  constructor(readonly options: FileHostOptions) {}

  /** Resolves when the layer files retired by this host's commits and discards so far are deleted. */
  async retiredDeleted(): Promise<void> {
    await Promise.all([...this.sweeps.values()]);
  }

  /**
   * Deletes retired layers in the background. Called when a commit or discard begins, which comes after the
   * cycle's acknowledgement, so the deletion runs beside the merge rather than beside a cycle's upload:
   * freeing a layer's blocks is slow I/O, not CPU (this VM's ext4 is mounted with `discard` and trims them
   * synchronously: 0.5 s for the ~45 MiB layer of a 1% cycle of a 4 GiB disk); taken with the next reference
   * point, it made that cycle's upload body 0.2-0.5 s longer while other work kept the disk busy, and no
   * measurable difference on a quiet machine (bench/replication/README.md, runs D).
   * It takes no lock: nothing names a retired file.
   */
  private sweepRetired(folder: string): void {
    const previous = this.sweeps.get(folder) ?? Promise.resolve();
    const sweep = previous
      .then(() => deleteRetired(folder))
      .catch((error: unknown) => log.warn('deleting merged layer files failed; the next commit tries again', { folder, error: (error as Error).message }));
    this.sweeps.set(folder, sweep);
    void sweep.then(() => {
      if (this.sweeps.get(folder) === sweep) this.sweeps.delete(folder);
    });
  }

  get root(): string {
    return this.options.root;
  }

  async listVms(): Promise<VmSummary[]> {
    return (await allVms(this.root)).map((vm) => summary(vm.record));
  }

  async getVm(nameOrId: string): Promise<VmDescription> {
    const { folder, record } = await findVm(this.root, nameOrId);
    return this.describe(folder, record);
  }

  /** The folder of a VM (for tools that work on its files). */
  async folderOf(nameOrId: string): Promise<string> {
    return (await findVm(this.root, nameOrId)).folder;
  }

  async createVm(spec: NewVmSpec): Promise<VmDescription> {
    validateVmName(spec.name);
    if (spec.disks.length === 0) throw new HostError('ERR_INVALID_ARGUMENT', 'a VM needs at least one disk (--disk SIZE)');
    for (const size of spec.disks) {
      if (!Number.isSafeInteger(size) || size <= 0 || size % (1024 * 1024) !== 0) {
        throw new HostError('ERR_INVALID_ARGUMENT', `disk size ${size} is not valid: give a positive whole number of MiB (e.g. 8GiB)`);
      }
    }
    if ((await allVms(this.root)).some((vm) => vm.record.name === spec.name)) {
      throw new HostError('ERR_ALREADY_EXISTS', `a VM named '${spec.name}' already exists under ${this.root}`);
    }
    const folder = join(this.root, spec.name);
    await mkdir(this.root, { recursive: true });
    try {
      await mkdir(folder);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new HostError('ERR_ALREADY_EXISTS', `folder ${folder} already exists; pick another name or remove it`);
      }
      throw error;
    }
    try {
      const disks: DiskRecord[] = [];
      for (const [index, virtualSize] of spec.disks.entries()) {
        const file = `disk${index}.vhdx`;
        await createDisk(join(folder, file), { type: 'dynamic', virtualSize, ...(spec.blockSize ? { blockSize: spec.blockSize } : {}) });
        disks.push({ id: `disk${index}`, file, virtualSize, logicalSectorSize: 512, layers: [] });
      }
      const record: VmRecord = {
        schemaVersion: VM_CONFIG_SCHEMA,
        id: randomUUID(),
        name: spec.name,
        generation: spec.generation ?? 2,
        processorCount: spec.processorCount ?? 2,
        memoryBytes: spec.memoryBytes ?? 2 * 1024 * 1024 * 1024,
        state: 'off',
        isReplica: false,
        isTestVm: false,
        networkAdapters: spec.networkAdapters ?? [{ id: 'nic0', name: 'Network Adapter' }],
        disks,
        referencePoints: [],
        layerEpoch: 0,
      };
      await writeVm(folder, record);
      log.info('created VM', { vm: spec.name, id: record.id, disks: spec.disks });
      return this.describe(folder, record);
    } catch (error) {
      await rm(folder, { recursive: true, force: true });
      throw error;
    }
  }

  /** Deletes a VM and every file in its folder; a running VM only with `force`. */
  async removeVm(nameOrId: string, options: { force?: boolean } = {}): Promise<void> {
    const { folder, record } = await findVm(this.root, nameOrId);
    await withVmLock(folder, 'remove', async () => {
      const current = await readVm(folder);
      if (current.state === 'running' && !options.force) {
        throw new HostError('ERR_INVALID_STATE', `VM '${record.name}' is running; stop it first or use --force`);
      }
      await rm(join(folder, 'vm.json'), { force: true });
    });
    await rm(folder, { recursive: true, force: true });
    await unlinkFolder(this.root, record.id);
    log.info('removed VM', { vm: record.name, id: record.id });
  }

  async startVm(nameOrId: string): Promise<VmSummary> {
    return this.setState(nameOrId, 'running');
  }

  async stopVm(nameOrId: string, _options: StopOptions = {}): Promise<VmSummary> {
    return this.setState(nameOrId, 'off');
  }

  async createReferencePoint(nameOrId: string, options: CreateReferencePointOptions = {}): Promise<ReferencePoint> {
    const consistency = options.consistency ?? 'crash';
    if (consistency !== 'crash') {
      throw new HostError('ERR_NOT_SUPPORTED', 'the file host has no guest to quiesce: only crash-consistent reference points are possible');
    }
    const { folder } = await findVm(this.root, nameOrId);
    const created = await withVmLock(folder, 'create reference point', async () => {
      const record = await readVm(folder);
      const id = randomUUID();
      const files: string[] = [];
      const disks: PointRecord['disks'] = [];
      try {
        for (const disk of record.disks) {
          const frozenFile = currentFile(disk);
          const file = newLayerName(disk.id);
          await createLayer(folder, file, frozenFile);
          files.push(file);
          disk.layers.push({ file, since: id });
          disks.push({ diskId: disk.id, frozenFile });
        }
        const entry: PointRecord = { id, createdAt: new Date().toISOString(), consistency, state: 'frozen', disks };
        record.referencePoints.push(entry);
        record.layerEpoch += 1;
        await writeVm(folder, record);
        log.verbose('created reference point', { vm: record.name, point: id });
        return point(folder, record, entry);
      } catch (error) {
        await removeFiles(folder, files);
        throw error;
      }
    });
    return created;
  }

  async commitReferencePoint(nameOrId: string, pointId: string): Promise<ReferencePoint> {
    const { folder } = await findVm(this.root, nameOrId);
    // What earlier commits and discards retired (and a crash's leftovers) goes beside this merge; what this
    // one retires goes at the next, so a one-shot `replicate` waits at its exit for one deletion at most.
    this.sweepRetired(folder);
    // All under the lock: a merge rewrites the metadata of layers that a writer's chain reads.
    const result = await withVmLock(folder, 'commit reference point', async () => {
      const record = await readVm(folder);
      const target = findPoint(record, pointId);
      if (target.state === 'committed') return point(folder, record, target);
      const obsolete: string[] = [];
      for (const frozen of target.disks) {
        const disk = findDisk(record, frozen.diskId);
        const upTo = disk.layers.findIndex((l) => l.file === frozen.frozenFile);
        if (upTo < 0) continue; // the point's image is the base already
        const below = disk.layers.slice(0, upTo + 1);
        const above = disk.layers.slice(upTo + 1);
        await foldIntoBase(folder, disk.file, below.map((l) => l.file), above[0]?.file);
        obsolete.push(...below.map((l) => l.file));
        disk.layers = above;
      }
      const position = record.referencePoints.indexOf(target);
      // Layers above the point keep their files, so newer points still name the right ones.
      record.referencePoints = record.referencePoints.slice(position);
      const committed = record.referencePoints[0]!;
      committed.state = 'committed';
      committed.disks = committed.disks.map((d) => ({ ...d, frozenFile: findDisk(record, d.diskId).file }));
      record.layerEpoch += 1;
      await writeVm(folder, record);
      await retireFiles(folder, obsolete);
      log.verbose('committed reference point', { vm: record.name, point: pointId });
      return point(folder, record, committed);
    });
    return result;
  }

  async discardReferencePoint(nameOrId: string, pointId: string): Promise<void> {
    const { folder } = await findVm(this.root, nameOrId);
    this.sweepRetired(folder);
    await withVmLock(folder, 'discard reference point', async () => {
      const record = await readVm(folder);
      const target = findPoint(record, pointId);
      if (target.state === 'committed') {
        throw new HostError('ERR_INVALID_STATE', `reference point '${pointId}' is committed; only a frozen point can be discarded`);
      }
      if (record.referencePoints[record.referencePoints.length - 1] !== target) {
        throw new HostError('ERR_INVALID_STATE', `reference point '${pointId}' is not the newest; discard the newer points first`);
      }
      const obsolete: string[] = [];
      for (const disk of record.disks) {
        const top = disk.layers[disk.layers.length - 1];
        if (!top || top.since !== pointId) throw new HostError('ERR_INVALID_STATE', `disk '${disk.id}' has no layer created by point '${pointId}'`);
        // The newest layer has no child, so merging it into the frozen layer below is safe.
        await mergeDisk(resolveFile(folder, top.file));
        disk.layers.pop();
        obsolete.push(top.file);
      }
      record.referencePoints.pop();
      record.layerEpoch += 1;
      await writeVm(folder, record);
      await retireFiles(folder, obsolete);
      log.verbose('discarded reference point', { vm: record.name, point: pointId });
    });
  }

  async openDiskAt(nameOrId: string, pointId: string, diskId: string): Promise<DiskImage> {
    const { folder, record } = await findVm(this.root, nameOrId);
    const frozen = findPoint(record, pointId).disks.find((d) => d.diskId === diskId);
    if (!frozen) throw new HostError('ERR_NOT_FOUND', `reference point '${pointId}' has no disk '${diskId}'`);
    return VhdxImage.open(resolveFile(folder, frozen.frozenFile));
  }

  async changeTracker(nameOrId: string, pointId: string, diskId: string): Promise<ChangeTracker> {
    const { folder, record } = await findVm(this.root, nameOrId);
    findPoint(record, pointId);
    const disk = findDisk(record, diskId);
    // The layers are re-read at listing time: a commit in between renames them.
    const layers = async (): Promise<CheckpointLayer[]> => {
      const now = await readVm(folder);
      const p = now.referencePoints.find((x) => x.id === pointId);
      const d = now.disks.find((x) => x.id === diskId);
      if (!p || !d) return [];
      const frozenFile = p.disks.find((x) => x.diskId === diskId)?.frozenFile;
      const upTo = d.layers.findIndex((l) => l.file === frozenFile);
      return d.layers.slice(0, upTo + 1).map((l) => ({ path: resolveFile(folder, l.file), since: l.since }));
    };
    return new CheckpointTracker({ pointId, virtualSize: disk.virtualSize, logicalSectorSize: disk.logicalSectorSize, layers });
  }

  async pendingBytes(nameOrId: string, diskId: string, since: TrackingId | undefined): Promise<number> {
    const { folder } = await findVm(this.root, nameOrId);
    // Under the VM lock: no writer is half-way through the live layer's metadata, no commit folds layers away.
    return withVmLock(folder, 'measure pending changes', async () => {
      const record = await readVm(folder);
      const disk = findDisk(record, diskId);
      if (since === undefined) {
        const image = await VhdxImage.open(resolveFile(folder, currentFile(disk)));
        try {
          return (await image.allocation()).reduce((sum, e) => sum + (e.state === 'data' ? e.length : 0), 0);
        } finally {
          await image.close();
        }
      }
      // A tracker bound to "now": every layer above the committed base, the one the VM writes included.
      const layers = disk.layers.map((l) => ({ path: resolveFile(folder, l.file), since: l.since }));
      const live = new CheckpointTracker({
        pointId: `live-${record.layerEpoch}`,
        virtualSize: disk.virtualSize,
        logicalSectorSize: disk.logicalSectorSize,
        layers: async () => layers,
      });
      return changedBytesOf(live.changesSince(since));
    });
  }

  /**
   * Runs `fn` with every disk's current layer open for writing, holding the VM lock; closes (and so
   * flushes) them before the lock goes. This is how a guest's writes reach the disks.
   */
  async withWritableDisks<T>(nameOrId: string, fn: (disks: WritableDisk[], record: VmRecord) => Promise<T>): Promise<T> {
    const { folder } = await findVm(this.root, nameOrId);
    return withVmLock(folder, 'write', async () => {
      const record = await readVm(folder);
      if (record.state !== 'running') throw new HostError('ERR_INVALID_STATE', `VM '${record.name}' is not running; start it first`);
      const open: WritableDisk[] = [];
      try {
        for (const disk of record.disks) {
          const file = currentFile(disk);
          open.push({ diskId: disk.id, file, disk: await openDisk(resolveFile(folder, file), { writable: true }) });
        }
        return await fn(open, record);
      } finally {
        for (const entry of open) await entry.disk.close();
      }
    });
  }

  async registerReplicaVm(config: VmConfiguration, disks: ReplicaDiskSource[], options: RegisterReplicaOptions): Promise<VmSummary> {
    return this.registerVm(config, disks, options.location, options.name ?? config.name, { isReplica: options.ordinary !== true, isTestVm: false });
  }

  async createTestVm(config: VmConfiguration, disks: ReplicaDiskSource[], options: CreateTestVmOptions = {}): Promise<VmSummary> {
    const name = options.name ?? `${config.name} - Test`;
    const location = options.location ?? join(this.root, name);
    // The test VM writes only into its own layers over the given disks, which stay untouched.
    const layered: ReplicaDiskSource[] = [];
    await mkdir(location, { recursive: true });
    for (const source of disks) {
      const file = `${source.diskId}_test_${randomUUID()}.avhdx`;
      await createDisk(join(location, file), { type: 'differencing', parentPath: source.path });
      layered.push({ diskId: source.diskId, path: join(location, file) });
    }
    // Like Hyper-V's test VM, it joins no network: its guest must not meet the running primary.
    const networkAdapters = config.networkAdapters.map((a) => {
      const disconnected = { ...a };
      delete disconnected.switchName;
      return disconnected;
    });
    return this.registerVm({ ...config, networkAdapters }, layered, location, name, { isReplica: false, isTestVm: true });
  }

  async removeTestVm(nameOrId: string): Promise<void> {
    const { record } = await findVm(this.root, nameOrId);
    if (!record.isTestVm) throw new HostError('ERR_INVALID_STATE', `VM '${record.name}' is not a test VM; refusing to remove it`);
    await this.removeVm(nameOrId, { force: true });
  }

  async setFailoverNetwork(nameOrId: string, settings: FailoverNetworkSettings[]): Promise<VmSummary> {
    const { folder } = await findVm(this.root, nameOrId);
    return withVmLock(folder, 'set failover network', async () => {
      const record = await readVm(folder);
      validateFailoverSettings(settings, record.networkAdapters);
      record.networkAdapters = record.networkAdapters.map((a) => {
        const s = settings.find((x) => x.adapterId === a.id);
        return s ? { ...a, failover: s } : a;
      });
      await writeVm(folder, record);
      return summary(record);
    });
  }

  /** The file host's VmConfiguration is the whole definition: nothing else needs shipping. */
  async exportDefinition(nameOrId: string): Promise<undefined> {
    await findVm(this.root, nameOrId);
    return undefined;
  }

  /** Forgets the VM (vm.json and its link) and keeps every disk and layer file it used. */
  async unregisterVm(nameOrId: string, options: UnregisterVmOptions = {}): Promise<void> {
    const { folder, record } = await findVm(this.root, nameOrId);
    await withVmLock(folder, 'unregister', async () => {
      const current = await readVm(folder);
      if (current.state === 'running' && !options.force) {
        throw new HostError('ERR_INVALID_STATE', `VM '${current.name}' is running; stop it first or use --force`);
      }
      if (current.referencePoints.some((p) => p.state === 'frozen')) {
        throw new HostError('ERR_INVALID_STATE', `VM '${current.name}' has frozen reference points; commit or discard them before unregistering it`);
      }
      await rm(join(folder, 'vm.json'), { force: true });
    });
    await unlinkFolder(this.root, record.id);
    // Only an empty folder goes; one that holds the disks stays with them. Retired layers are no disk's.
    await this.retiredDeleted();
    await rm(join(folder, RETIRED_DIR), { recursive: true, force: true });
    await rmdir(folder).catch(() => undefined);
    log.info('unregistered VM; its disk files are kept', { vm: record.name, id: record.id });
  }

  async replaceVmDisks(nameOrId: string, disks: ReplicaDiskSource[]): Promise<VmDescription> {
    const { folder } = await findVm(this.root, nameOrId);
    return withVmLock(folder, 'replace disks', async () => {
      const record = await readVm(folder);
      if (record.state !== 'off') throw new HostError('ERR_INVALID_STATE', `VM '${record.name}' is ${record.state}; stop it before replacing its disks`);
      if (record.referencePoints.some((p) => p.state === 'frozen') || record.disks.some((d) => d.layers.length > 0)) {
        throw new HostError('ERR_INVALID_STATE', `VM '${record.name}' has frozen reference points; commit or discard them before replacing its disks`);
      }
      for (const source of disks) {
        const disk = findDisk(record, source.diskId);
        const path = isAbsolute(source.path) ? source.path : resolve(source.path);
        let opened: VhdxDisk;
        try {
          opened = await openDisk(path);
        } catch (error) {
          const code = (error as { code?: string }).code;
          throw new HostError(code === 'ENOENT' || code === 'ERR_NOT_FOUND' ? 'ERR_NOT_FOUND' : 'ERR_INVALID_ARGUMENT', `disk file ${path} for disk '${disk.id}' of VM '${record.name}' cannot be opened: ${(error as Error).message}`);
        }
        const { virtualSize, logicalSectorSize } = opened.info;
        await opened.close();
        // The guest must find the same disk behind the drive.
        if (virtualSize !== disk.virtualSize || logicalSectorSize !== disk.logicalSectorSize) {
          throw new HostError(
            'ERR_INVALID_ARGUMENT',
            `disk file ${path} is ${virtualSize} bytes with ${logicalSectorSize}-byte sectors; disk '${disk.id}' of VM '${record.name}' is ${disk.virtualSize} bytes with ${disk.logicalSectorSize}-byte sectors`,
          );
        }
        disk.file = path;
      }
      // A committed point names the old files; the next replication cycle starts over from a full copy.
      record.referencePoints = [];
      record.layerEpoch += 1;
      await writeVm(folder, record);
      return this.describe(folder, record);
    });
  }

  async vmHoldsDiskFiles(nameOrId: string): Promise<boolean> {
    await findVm(this.root, nameOrId);
    // The VM lock serialises guest writes with rebaseVmDisks, so a running VM's files are never out of reach.
    return false;
  }

  async rebaseVmDisks(nameOrId: string, bases: ReplicaDiskSource[], folder: string): Promise<VmDescription> {
    const { folder: vmFolder, record: before } = await findVm(this.root, nameOrId);
    for (const base of bases) findDisk(before, base.diskId);
    for (const disk of before.disks) {
      if (!bases.some((b) => b.diskId === disk.id)) throw new HostError('ERR_INVALID_ARGUMENT', `no chain given to re-base disk '${disk.id}' of VM '${before.name}' on`);
    }
    // The chains below the VM's layers are read-only: copied without the lock, so the VM keeps running.
    const flattened = new Map<string, string>();
    for (const base of bases) flattened.set(base.diskId, await flattenedBase(folder, base.diskId, base.path));
    const retired: string[] = [];
    const described = await withVmLock(vmFolder, 'rebase disks', async () => {
      const record = await readVm(vmFolder);
      if (record.referencePoints.some((p) => p.state === 'frozen')) {
        throw new HostError('ERR_INVALID_STATE', `VM '${record.name}' has frozen reference points; commit or discard them before re-basing its disks`);
      }
      for (const disk of record.disks) {
        // Under the lock no guest write is half-way: the layers copied are every write the VM made, the
        // committed reference point's layer (a VM that replicates) included.
        const own = [disk.file, ...disk.layers.map((l) => l.file)].map((f) => resolveFile(vmFolder, f));
        disk.file = await carryLayer(folder, disk.id, flattened.get(disk.id)!, own);
        retired.push(...disk.layers.map((l) => l.file));
        disk.layers = [];
      }
      // As Hyper-V's: a committed point tracked the old files; the VM's next replication cycle starts over.
      record.referencePoints = [];
      record.layerEpoch += 1;
      await writeVm(vmFolder, record);
      return this.describe(vmFolder, record);
    });
    await removeFiles(vmFolder, retired);
    await pruneFolder(folder, [...flattened.values(), ...described.disks.map((d) => d.currentPath)]);
    return described;
  }

  private async registerVm(
    config: VmConfiguration,
    disks: ReplicaDiskSource[],
    location: string,
    name: string,
    kind: { isReplica: boolean; isTestVm: boolean },
  ): Promise<VmSummary> {
    validateVmName(name);
    const records: DiskRecord[] = [];
    for (const d of config.disks) {
      const source = disks.find((s) => s.diskId === d.id);
      if (!source) throw new HostError('ERR_INVALID_ARGUMENT', `no file given for disk '${d.id}' of VM '${config.name}'`);
      await stat(source.path).catch(() => {
        throw new HostError('ERR_NOT_FOUND', `disk file ${source.path} for disk '${d.id}' does not exist`);
      });
      records.push({ id: d.id, file: source.path, virtualSize: d.virtualSize, logicalSectorSize: d.logicalSectorSize, layers: [] });
    }
    if ((await allVms(this.root)).some((vm) => vm.record.name === name)) {
      throw new HostError('ERR_ALREADY_EXISTS', `a VM named '${name}' already exists under ${this.root}`);
    }
    await mkdir(location, { recursive: true });
    const existing = await readdir(location);
    if (existing.includes('vm.json')) throw new HostError('ERR_ALREADY_EXISTS', `${location} already holds a VM`);
    const record: VmRecord = {
      schemaVersion: VM_CONFIG_SCHEMA,
      id: kind.isTestVm ? randomUUID() : config.id,
      name,
      generation: config.generation,
      processorCount: config.processorCount,
      memoryBytes: config.memoryBytes,
      state: 'off',
      ...kind,
      networkAdapters: config.networkAdapters,
      disks: records,
      referencePoints: [],
      layerEpoch: 0,
      ...(config.notes !== undefined ? { notes: config.notes } : {}),
    };
    await writeVm(location, record);
    await linkFolder(this.root, record.id, location);
    return summary(record);
  }

  private async setState(nameOrId: string, state: VmRecord['state']): Promise<VmSummary> {
    const { folder } = await findVm(this.root, nameOrId);
    return withVmLock(folder, state === 'running' ? 'start' : 'stop', async () => {
      const record = await readVm(folder);
      record.state = state;
      await writeVm(folder, record);
      return summary(record);
    });
  }

  private describe(folder: string, record: VmRecord): VmDescription {
    const disks: VmDisk[] = record.disks.map((d) => ({
      id: d.id,
      basePath: resolveFile(folder, d.file),
      currentPath: resolveFile(folder, currentFile(d)),
      virtualSize: d.virtualSize,
      logicalSectorSize: d.logicalSectorSize,
    }));
    return {
      ...summary(record),
      configuration: configuration(record),
      disks,
      referencePoints: record.referencePoints.map((p) => point(folder, record, p)),
    };
  }
}
