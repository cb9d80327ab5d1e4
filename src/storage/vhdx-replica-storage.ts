/**
 * ReplicaStorage on VHDX files, laid out as DESIGN §4 says:
 *
 *   <root>/state.json                          the relationship's state (atomic replace)
 *   <root>/disks/<disk>.vhdx                   base of each disk
 *   <root>/disks/<disk>_<layer>.avhdx          one differencing layer per recovery point, and the top
 *   <root>/incoming/<gen>-<seq>/<disk>.hvrlog  logs received and not yet applied (and the disks staged from them)
 *   <root>/staging/<disk>-<gen>-<seq>.vhdx     a full copy being staged while it arrives (staged-disk.ts)
 *
 * Every layer is a standard differencing VHDX whose parent locator names the layer below, so any VHDX
 * reader can open a point's chain. Retention merges the oldest point's successor into it, re-parents the
 * layer above onto the merged file and deletes the merged layer: files and bytes stay bounded by
 * recoveryHistory, not by how many points were ever sealed. Ordering makes every step crash-safe: files are created before the
 * state names them and deleted after it stops naming them; open() removes what the state does not name.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { logger } from '../logging/logger.js';
import { decodeLog, verifyLog } from '../protocol/log-decoder.js';
import { SecondDescriptorWriteback } from './early-writeback.js';
import { normalizeGuid } from '../protocol/guid.js';
import { logHashCoversPayloads, MAX_RECORD_BYTES, type LogHeader } from '../protocol/log-format.js';
import { LogFormatError } from '../protocol/errors.js';
import { StagedDisk } from './staged-disk.js';
import { checkStagedDisk, FRAMING_READ_BYTES, type StagedMismatch } from './staged-check.js';
import { FileChunks } from '../protocol/file-chunks.js';
import { ChangeBatches, DEFAULT_BATCH_LIMITS } from './change-batches.js';
import { PositionalReader } from '../protocol/positional-reader.js';
import { verifiedLogs } from './verified-logs.js';
import { ReplicationPosition } from '../protocol/position.js';
import { createDisk, mergeDisk, openDisk, reparentDisk, type VhdxDisk } from '../vhdx/index.js';
import { fsyncDirectory, removeStaleTemps } from '../util/atomic-file.js';
import { pathExists } from '../util/path-exists.js';
import { isDiskFull, StorageError } from './errors.js';
import { acceptLog } from './log-acceptance.js';
import { loadState, saveState, STATE_FORMAT_VERSION, type LayerState, type PendingCycle, type StoredState } from './replica-state.js';
import {
  DEFAULT_STORAGE_SETTINGS,
  type ApplyResult,
  type ReceiveResult,
  type RecoveryPoint,
  type ReplicaDiskSpec,
  type ReplicaStatus,
  type ReplicaStorage,
  type ReplicaStorageSettings,
} from './replica-storage.js';

const log = logger('storage');

export interface VhdxReplicaStorageOptions {
  /** Time source for seal times and the seal interval; tests step it. */
  clock?: () => Date;
}

export interface CreateReplicaStorageOptions extends VhdxReplicaStorageOptions {
  vmId: string;
  disks: ReplicaDiskSpec[];
  settings?: Partial<ReplicaStorageSettings>;
  /** Block size of the base disks (default: the VHDX engine's default for dynamic disks). */
  blockSize?: number;
}

const STATE_FILE = 'state.json';

/**
 * Read size for logs (verify, apply). Records are up to 4 MiB (MAX_RECORD_BYTES); node's default 64 KiB
 * reads cut each into 64 pieces, each a syscall and a buffer for the decoder to join again.
 */
const IO_BYTES = 4 * 1024 * 1024;

function checkSettings(settings: ReplicaStorageSettings): ReplicaStorageSettings {
  if (!Number.isSafeInteger(settings.recoveryHistory) || settings.recoveryHistory < 0) {
    throw new StorageError('ERR_INVALID_ARGUMENT', `recoveryHistory must be a non-negative integer, got ${settings.recoveryHistory}`);
  }
  if (!Number.isFinite(settings.sealIntervalMs) || settings.sealIntervalMs <= 0) {
    throw new StorageError('ERR_INVALID_ARGUMENT', `sealIntervalMs must be a positive number, got ${settings.sealIntervalMs}`);
  }
  return settings;
}

function diskFull(what: string, error: unknown): unknown {
  return isDiskFull(error)
    ? new StorageError('ERR_DISK_FULL', `the replica storage volume is full while ${what}; free space or move the storage location, then resume (nothing was lost)`, { cause: error })
    : error;
}

/** Creates the storage of a new replica: base disks and state. ERR_STORAGE_EXISTS if there is one. */
export async function createVhdxReplicaStorage(root: string, options: CreateReplicaStorageOptions): Promise<VhdxReplicaStorage> {
  const settings = checkSettings({ ...DEFAULT_STORAGE_SETTINGS, ...options.settings });
  if (options.disks.length === 0) throw new StorageError('ERR_INVALID_ARGUMENT', 'a replica needs at least one disk');
  const vmId = normalizeGuid(options.vmId, 'VM id');
  const disks = options.disks.map((d) => ({ ...d, diskId: normalizeGuid(d.diskId, 'disk id') }));
  if (new Set(disks.map((d) => d.diskId)).size !== disks.length) throw new StorageError('ERR_INVALID_ARGUMENT', 'disk ids must be unique');
  await mkdir(root, { recursive: true });
  const existing = await readdir(root);
  if (existing.includes(STATE_FILE)) throw new StorageError('ERR_STORAGE_EXISTS', `${root} already holds a replica; remove it first or open it`);
  await mkdir(join(root, 'disks'), { recursive: true });
  await mkdir(join(root, 'incoming'), { recursive: true });
  const files: Record<string, string> = {};
  try {
    for (const disk of disks) {
      const name = `${disk.diskId}.vhdx`;
      await rm(join(root, 'disks', name), { force: true });
      await createDisk(join(root, 'disks', name), {
        type: 'dynamic',
        virtualSize: disk.virtualSize,
        logicalSectorSize: disk.logicalSectorSize,
        ...(options.blockSize === undefined ? {} : { blockSize: options.blockSize }),
      });
      files[disk.diskId] = name;
    }
  } catch (error) {
    throw diskFull('creating the base disks', error);
  }
  const now = (options.clock ?? (() => new Date()))();
  const state: StoredState = {
    formatVersion: STATE_FORMAT_VERSION,
    vmId,
    disks,
    settings,
    position: null,
    referencePoint: '',
    lastBaseReferencePoint: '',
    topDirty: false,
    lastSealAt: now.toISOString(),
    pending: [],
    layers: [{ id: randomUUID(), files }],
  };
  await saveState(join(root, STATE_FILE), state);
  return new VhdxReplicaStorage(root, state, options);
}

/** Opens existing storage, finishing an interrupted retention merge and removing crash debris. */
export async function openVhdxReplicaStorage(root: string, options: VhdxReplicaStorageOptions = {}): Promise<VhdxReplicaStorage> {
  const state = await loadState(join(root, STATE_FILE));
  const storage = new VhdxReplicaStorage(root, state, options);
  await storage.recover();
  return storage;
}

export class VhdxReplicaStorage implements ReplicaStorage {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly clock: () => Date;

  constructor(
    readonly root: string,
    private state: StoredState,
    options: VhdxReplicaStorageOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  get vmId(): string {
    return this.state.vmId;
  }

  /** One operation at a time: apply, seal and merge all rewrite the same state and top layers. */
  private exclusive<T>(body: () => Promise<T>): Promise<T> {
    const run = this.queue.then(body, body);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private diskPath(file: string): string {
    return join(this.root, 'disks', file);
  }

  private get top(): LayerState {
    return this.state.layers.at(-1)!;
  }

  /** Replaces the state on disk first, then in memory, so a failed save leaves both as they were. */
  private async commit(next: StoredState): Promise<void> {
    try {
      await saveState(join(this.root, STATE_FILE), next);
    } catch (error) {
      throw diskFull('saving the replica state', error);
    }
    this.state = next;
  }

  private clone(): StoredState {
    return structuredClone(this.state);
  }

  async recover(): Promise<void> {
    await this.exclusive(async () => {
      if (this.state.merging) await this.finishMerge(this.clone());
      // Nothing else writes the state while this holds the storage: every temp file of it is a crash's.
      await removeStaleTemps(join(this.root, STATE_FILE), 0);
      const named = new Set(this.state.layers.flatMap((l) => Object.values(l.files)));
      for (const entry of await readdir(join(this.root, 'disks'))) {
        if (!named.has(entry)) {
          log.warn('removing a layer the state does not name (left by a crash)', { vmId: this.vmId, file: entry });
          await rm(this.diskPath(entry), { force: true });
        }
      }
      // Staging is for the initial replication only: once a position exists, whatever is there is debris.
      if (this.state.position) await rm(join(this.root, STAGING_DIR), { recursive: true, force: true });
      const pendingDirs = new Set(this.state.pending.map((c) => cycleDir(c.generation, c.sequence)));
      for (const entry of await readdir(join(this.root, 'incoming'))) {
        if (!pendingDirs.has(entry)) await rm(join(this.root, 'incoming', entry), { recursive: true, force: true });
      }
      for (const cycle of this.state.pending) {
        const dir = join(this.root, 'incoming', cycleDir(cycle.generation, cycle.sequence));
        const logs = new Set([...Object.values(cycle.logs), ...Object.values(cycle.staged ?? {})]);
        for (const entry of await readdir(dir).catch(() => [] as string[])) {
          if (!logs.has(entry)) await rm(join(dir, entry), { force: true });
        }
      }
    });
  }

  /**
   * Removes every disk in staging/: left by an attempt that ended without handing its disk over (a crash
   * of the replica server during an initial copy leaves a file the size of the disk's data). Only for the
   * replica server when no upload of this VM is in flight (at its start): an upload's staging disk lives
   * here while it arrives. A cycle's staged disk is never here; storing the log moved it into the cycle's
   * incoming/ folder (PendingCycle.staged), so a stored cycle is applied from it all the same.
   */
  clearStaging(): Promise<void> {
    return this.exclusive(async () => {
      const dir = join(this.root, STAGING_DIR);
      const left = await readdir(dir).catch(() => [] as string[]);
      if (left.length > 0) log.info('removing staging disks of uploads that ended without handing them over', { vmId: this.vmId, files: left });
      await rm(dir, { recursive: true, force: true });
    });
  }

  async status(): Promise<ReplicaStatus> {
    const s = this.state;
    return {
      vmId: s.vmId,
      disks: s.disks.map((d) => ({ ...d })),
      position: s.position ? new ReplicationPosition(s.position.generation, s.position.sequence) : undefined,
      referencePoint: s.referencePoint,
      pending: s.pending.map((c) => ({ generation: c.generation, sequence: c.sequence, disks: Object.keys(c.logs) })),
      settings: { ...s.settings },
    };
  }

  receive(source: AsyncIterable<Uint8Array>): Promise<ReceiveResult> {
    return this.exclusive(async () => {
      const temp = this.receiveTemp();
      try {
        await writeDurably(temp, source);
        // The whole log is checked before anything refers to it: a corrupt log is refused, not stored.
        const { header } = await verifyLog(createReadStream(temp, { highWaterMark: IO_BYTES }));
        return await this.store(temp, header);
      } catch (error) {
        throw diskFull('storing a received log', error);
      } finally {
        await rm(temp, { force: true });
      }
    });
  }

  /**
   * Stores a complete log that is already a file on this volume (the replica server's received upload)
   * without copying its bytes: the file is hard-linked into incoming/, so the log is written to the disk
   * once on its way to the replica instead of twice (the copy through `receive` doubled the written bytes
   * of an initial replication, see bench/replication/README.md). The caller's file is left in place; it
   * drops its own name when it likes, the data stays under incoming/ until applied. `verified` is the
   * header of a verification the caller has just run over this very file (LogReceiver does, before it
   * hands the file over); without it the log is verified here. Where hard links are impossible (another
   * volume, a file system without them) the bytes are copied as `receive` does.
   * Refuses exactly what `receive` refuses.
   */
  receiveFile(path: string, verified?: LogHeader, staged?: string, hollow = false): Promise<ReceiveResult> {
    if (hollow && (staged === undefined || verified === undefined)) {
      return Promise.reject(new StorageError('ERR_INVALID_ARGUMENT', 'a hollow log comes with the staged disk that holds its payloads, verified'));
    }
    return this.exclusive(async () => {
      const temp = this.receiveTemp();
      try {
        if (await linkOrFalse(path, temp)) {
          // The caller normally synced the data already (then this costs nothing); durability of what we
          // acknowledge must not depend on that. The new names are made durable below (fsyncDirectory).
          const handle = await open(temp, 'r+');
          try {
            await handle.sync();
          } finally {
            await handle.close();
          }
        } else {
          await writeDurably(temp, createReadStream(path, { highWaterMark: IO_BYTES }));
        }
        const header = verified ?? (await verifyLog(createReadStream(temp, { highWaterMark: IO_BYTES }))).header;
        return await this.store(temp, header, verified ? staged : undefined, hollow);
      } catch (error) {
        throw diskFull('storing a received log', error);
      } finally {
        // Only this name goes: when it was linked, the caller's file keeps its own.
        await rm(temp, { force: true });
      }
    });
  }

  private receiveTemp(): string {
    return join(this.root, 'incoming', `.receive-${randomUUID()}.tmp`);
  }

  /**
   * Where a full copy may be applied while it arrives: a new empty disk shaped like the base it would
   * replace, for the initial replication of a replica that holds nothing yet. Undefined otherwise (the log
   * is then applied after it is stored, as always). The caller hands the finished disk to receiveFile.
   */
  stage(header: LogHeader, resume?: string): Promise<StagedDisk | undefined> {
    // A log of an older format (version 1: its whole-log hash covers the payloads) is never stored hollow:
    // applying it from the stored file must stay possible, and that file would lack the payloads.
    if (logHashCoversPayloads(header.formatVersion)) return Promise.resolve(undefined);
    return this.exclusive(async () => {
      const path = join(this.root, STAGING_DIR, `${header.diskId}-${header.generation}-${header.sequence}.vhdx`);
      if (resume !== undefined) {
        // Only this log's own staging file, and only while staging is still what the replica wants.
        if (resume !== path || header.sequence !== 0 || header.baseReferencePoint !== '' || !this.stageable() || !(await pathExists(path))) return undefined;
        return StagedDisk.open(path);
      }
      if (header.sequence !== 0 || header.baseReferencePoint !== '' || !this.stageable()) return undefined;
      try {
        acceptLog(this.state, header);
      } catch {
        // Not worth staging: storing the log will refuse it, with the reason.
        return undefined;
      }
      const file = this.top.files[header.diskId];
      if (file === undefined) return undefined;
      const base = await openDisk(this.diskPath(file));
      const info = base.info;
      await base.close();
      if (info.type !== 'dynamic') return undefined;
      await mkdir(join(this.root, STAGING_DIR), { recursive: true });
      return StagedDisk.create(path, info);
    });
  }

  /** Nothing was ever applied and no recovery point exists: the base disks are the whole replica. */
  private stageable(): boolean {
    return !this.state.position && this.state.layers.length === 1;
  }

  /** Files the durable, verified log at `temp` under its cycle and commits the state that names it. */
  private async store(temp: string, header: LogHeader, staged?: string, hollow = false): Promise<ReceiveResult> {
    const incoming = join(this.root, 'incoming');
    const acceptance = acceptLog(this.state, header);
    const next = this.clone();
    let cycle: PendingCycle;
    let abandoned: PendingCycle[] = [];
    if (acceptance.kind === 'join') {
      cycle = next.pending.find((c) => c.generation === header.generation && c.sequence === header.sequence)!;
    } else {
      // A cycle that can no longer complete (the primary moved on, or replaces it) goes.
      abandoned = next.pending.filter((c) => c.generation === header.generation && c.sequence === header.sequence);
      if (acceptance.kind === 'next') abandoned.push(...next.pending.filter((c) => !this.isComplete(c)));
      next.pending = next.pending.filter((c) => !abandoned.includes(c));
      cycle = {
        generation: header.generation,
        sequence: header.sequence,
        consistency: header.consistency,
        baseReferencePoint: header.baseReferencePoint,
        newReferencePoint: header.newReferencePoint,
        logs: {},
      };
      next.pending.push(cycle);
    }
    const dir = join(incoming, cycleDir(header.generation, header.sequence));
    await mkdir(dir, { recursive: true });
    // Unique names: a replacing cycle shares the folder of the one it replaces until that one is gone.
    const name = `${header.diskId}.${randomUUID().slice(0, 8)}.hvrlog`;
    await rename(temp, join(dir, name));
    await verifiedLogs.remember(join(dir, name));
    const replacedStaged = cycle.staged?.[header.diskId];
    if (cycle.staged) delete cycle.staged[header.diskId];
    if (staged !== undefined) {
      const stagedName = `${header.diskId}.${randomUUID().slice(0, 8)}.vhdx`;
      await rename(staged, join(dir, stagedName));
      // Written by this process from the very bytes whose record checksums it verified, and flushed.
      await verifiedLogs.remember(join(dir, stagedName));
      (cycle.staged ??= {})[header.diskId] = stagedName;
    }
    await fsyncDirectory(dir);
    const replaced = cycle.logs[header.diskId];
    cycle.logs[header.diskId] = name;
    const hollowDisks = (cycle.hollow ?? []).filter((d) => d !== header.diskId);
    if (hollow) hollowDisks.push(header.diskId);
    if (hollowDisks.length > 0) cycle.hollow = hollowDisks;
    else delete cycle.hollow;
    await this.commit(next);
    if (replaced !== undefined) await rm(join(dir, replaced), { force: true });
    if (replacedStaged !== undefined) await rm(join(dir, replacedStaged), { force: true });
    for (const c of abandoned) {
      const dir = join(incoming, cycleDir(c.generation, c.sequence));
      for (const file of [...Object.values(c.logs), ...Object.values(c.staged ?? {})]) await rm(join(dir, file), { force: true });
    }
    log.debug('log stored', { vmId: this.vmId, diskId: header.diskId, generation: header.generation, sequence: header.sequence });
    return { header, cycleComplete: this.isComplete(cycle) };
  }

  private isComplete(cycle: PendingCycle): boolean {
    return this.state.disks.every((d) => cycle.logs[d.diskId] !== undefined);
  }

  applyPending(): Promise<ApplyResult> {
    return this.exclusive(async () => {
      const result: ApplyResult = { applied: [], sealed: [] };
      while (this.state.pending.length > 0 && this.isComplete(this.state.pending[0]!)) {
        const cycle = this.state.pending[0]!;
        const dir = join(this.root, 'incoming', cycleDir(cycle.generation, cycle.sequence));
        const plans = await Promise.all(this.state.disks.map((disk) => this.planApply(cycle, dir, disk.diskId)));
        // Staged bytes were checked when they arrived and have rested on this volume since (maybe across a
        // restart): checked again before any disk is changed (staged-check.ts), unless this process staged and
        // stored them and neither file changed since (verified-logs.ts), as for a stored log below. Such a copy
        // was written past the page cache: checking it would read the whole copy back from the device.
        for (const plan of plans) {
          const source = plan.take ?? plan.payloads;
          const logUnchanged = await verifiedLogs.unchanged(plan.log);
          if (source !== undefined && !(logUnchanged && (await verifiedLogs.unchanged(source)))) {
            // A log whose own framing is damaged cannot vouch for the disk: refused too, not retried for ever.
            const found = await checkStagedDisk(plan.log, source).catch((error: unknown) => {
              if (error instanceof LogFormatError) return error;
              throw error;
            });
            if (found instanceof LogFormatError) await this.refuseDamaged(cycle, plan, source === plan.layer, damagedLog(plan.diskId, found));
            else if (found) await this.refuseDamaged(cycle, plan, source === plan.layer, damagedStaged(plan.diskId, found));
          }
          // A log stored by this process was verified whole then and is applied right after, its payloads
          // copied file to file (verified-logs.ts). One kept across a restart, or written to since, is
          // verified whole before any of it is written: a record damaged at rest would otherwise stop the
          // apply half-way, leaving the records before it written and the cycle retried for ever.
          if (plan.take === undefined && !logUnchanged) {
            const error = await verifyStoredLog(plan.log, plan.payloads !== undefined);
            if (error) await this.refuseDamaged(cycle, plan, false, damagedLog(plan.diskId, error));
          }
        }
        try {
          for (const plan of plans) {
            if (plan.take !== undefined) await this.takeStaged(plan.take, plan.layer);
            else await this.applyLog(plan.layer, plan.log, plan.payloads);
          }
        } catch (error) {
          // Damaged since this process stored it (read back from the disk after the page cache let it go): the
          // retry verifies it whole first, and so refuses and drops the cycle instead of failing here for ever.
          if (error instanceof LogFormatError) for (const plan of plans) forgetVerified(plan);
          throw error;
        }
        const next = this.clone();
        next.pending.shift();
        next.position = { generation: cycle.generation, sequence: cycle.sequence };
        next.lastBaseReferencePoint = cycle.baseReferencePoint;
        next.referencePoint = cycle.newReferencePoint;
        next.topDirty = true;
        await this.commit(next);
        await rm(join(this.root, 'incoming', cycleDir(cycle.generation, cycle.sequence)), { recursive: true, force: true });
        for (const plan of plans) forgetVerified(plan);
        result.applied.push({ generation: cycle.generation, sequence: cycle.sequence, consistency: cycle.consistency });
        log.info('cycle applied', { vmId: this.vmId, generation: cycle.generation, sequence: cycle.sequence });
        // An application-consistent point is only that at exactly this cycle boundary: seal it now.
        if (cycle.consistency === 'application') {
          const point = await this.sealNow(this.clock(), 'application');
          if (point) result.sealed.push(point);
        }
      }
      return result;
    });
  }

  /**
   * How one disk of `cycle` is applied. A staged full copy is taken in place of the base disk (`take`) when
   * that is exactly what applying its log would give: the cycle is a full copy and the base is the only
   * layer and holds nothing. Otherwise the log is applied; a hollow log's payloads (`payloads`) are in its
   * staged disk, or in the base once the disk was taken as it (a crash came before the state said so).
   */
  private async planApply(cycle: PendingCycle, dir: string, diskId: string): Promise<ApplyPlan> {
    const layer = this.diskPath(this.top.files[diskId]!);
    const log = join(dir, cycle.logs[diskId]!);
    const stagedName = cycle.staged?.[diskId];
    const staged = stagedName !== undefined && (await pathExists(join(dir, stagedName))) ? join(dir, stagedName) : undefined;
    if (staged !== undefined && cycle.sequence === 0 && cycle.baseReferencePoint === '' && this.stageable() && (await isEmptyDisk(layer))) {
      return { diskId, layer, log, take: staged };
    }
    const hollow = cycle.hollow?.includes(diskId) === true;
    return { diskId, layer, log, ...(hollow ? { payloads: staged ?? layer } : {}) };
  }

  /**
   * Takes a staged full copy as the base disk. The rename is atomic; a crash before the state records the
   * cycle finds the staged disk gone and applies the log over it, which writes the same bytes again.
   */
  private async takeStaged(stagedPath: string, layerPath: string): Promise<void> {
    await rename(stagedPath, layerPath);
    await fsyncDirectory(join(this.root, 'disks'));
    log.debug('staged full copy taken as the base disk', { vmId: this.vmId, disk: layerPath });
  }

  /**
   * A cycle's stored data no longer holds what its log says (`what`): the cycle is dropped before anything
   * of it is applied, with every cycle received after it (each builds on it), and the primary must send it
   * again. A base that is a damaged staged disk (taken before a crash) is emptied again: nothing was applied
   * to this replica yet.
   */
  private async refuseDamaged(cycle: PendingCycle, plan: ApplyPlan, baseIsDamaged: boolean, what: string): Promise<never> {
    const where = `${cycle.generation}/${cycle.sequence}`;
    if (baseIsDamaged && this.stageable()) await emptyAgain(plan.layer);
    const next = this.clone();
    const dropped = next.pending;
    next.pending = [];
    await this.commit(next);
    for (const c of dropped) await rm(join(this.root, 'incoming', cycleDir(c.generation, c.sequence)), { recursive: true, force: true });
    const fullCopy = cycle.sequence === 0 && cycle.baseReferencePoint === '' && !this.state.position;
    const message =
      `cycle ${where} of replica ${this.vmId} was refused: ${what}, damaged on this server's storage after it was received and checked (check that volume). ` +
      `Nothing of it was applied: the replica's disks and recovery points were not changed. The cycle was dropped (with ${dropped.length - 1} received after it): ` +
      'the primary must send it again. Its next upload is refused as out of sequence, ' +
      (fullCopy
        ? "and as this was the VM's initial copy (a resynchronization needs content on the replica to compare against), start the initial replication again on the primary (hvreplica initial start)."
        : 'which makes it resynchronize the VM (at once with automatic resynchronization, else when the administrator starts it).');
    log.error('received data damaged at rest; cycle refused', { vmId: this.vmId, generation: cycle.generation, sequence: cycle.sequence, diskId: plan.diskId, what });
    throw new StorageError('ERR_STORED_DATA_CORRUPT', message);
  }

  /**
   * Writes every record of one log into `layerPath`. Records are absolute, so applying twice is harmless.
   * `payloadsFrom` names the disk holding a hollow log's uncompressed payloads (it may be `layerPath` itself).
   */
  private async applyLog(layerPath: string, logPath: string, payloadsFrom?: string): Promise<void> {
    let disk: VhdxDisk;
    let payloads: VhdxDisk | undefined;
    try {
      disk = await openDisk(layerPath, { writable: true });
    } catch (error) {
      throw diskFull('opening a replica disk', error);
    }
    try {
      if (payloadsFrom !== undefined) payloads = payloadsFrom === layerPath ? disk : await openDisk(payloadsFrom);
    } catch (error) {
      await disk.close().catch(() => undefined);
      throw error;
    }
    const source = payloads;
    // Only a head start for the flush at the end, as for a staged full copy: without it the kernel holds
    // the whole apply as dirty pages and the flush writes them all after the last record. It changes no
    // ordering the engine relies on (block table and bitmaps reach the file only in its commits).
    const writeback = await SecondDescriptorWriteback.open(layerPath);
    // A log this process stored was verified whole before (every record checksum, over the bytes written to the
    // synced file) and is normally applied right after: while its file is unchanged since (verified-logs.ts), its
    // uncompressed payloads are copied from the log file into the layer file to file (copy_file_range on Linux:
    // one copy in the kernel, where reading and checking them again took a copy out of the page cache, a hash and
    // a copy back in) and only its framing is read and checked again. Any other log (kept across a restart,
    // written to since) is read and checked record by record.
    const inPlace = source === undefined && (await verifiedLogs.unchanged(logPath));
    const writes = new ChangeBatches(disk, writeback, DEFAULT_BATCH_LIMITS, inPlace ? logPath : undefined);
    try {
      // Checked again as it is written (the header checksum, the counts and the whole-log hash, which covers only
      // the framing and record hashes; read record by record, also every record's checksum over its header and
      // decompressed bytes, before the record is written), in case the file was damaged at rest. Records are
      // written in batches (change-batches.ts), one in flight while the next records are read, so the disk and
      // the CPU work at the same time.
      const hollow = source ? { payloadOf: ({ offset, length }: { offset: number; length: number }) => writes.drain().then(() => source.read(offset, length)) } : {};
      // (A hollow log's uncompressed payloads come from the disk it was staged into: see DecodeOptions.payloadOf.)
      const entries = inPlace ? decodeLog(await PositionalReader.open(logPath), { payloadsInPlace: true }) : decodeLog(createReadStream(logPath, { highWaterMark: IO_BYTES }), hollow);
      for await (const entry of entries) {
        if (entry.kind === 'record') await writes.add(entry.record);
        else if (entry.kind === 'in-place') await writes.add({ type: 'copy', offset: entry.record.offset, length: entry.record.length, sourceOffset: entry.record.at });
      }
      await writes.drain();
      // A failed background sync fails the apply, even if the engine's own flush would not see it again.
      await writeback?.settle();
      await disk.flush();
    } catch (error) {
      // A batch still in flight must settle before the disk closes under it (a background sync: in close()).
      await writes.abandon();
      throw diskFull('applying a log', error);
    } finally {
      await writeback?.close();
      if (payloads !== undefined && payloads !== disk) await payloads.close().catch(() => undefined);
      await disk.close().catch((error: unknown) => log.warn('closing a replica disk failed', { error }));
    }
  }

  sealIfDue(now: Date = this.clock()): Promise<RecoveryPoint | undefined> {
    return this.exclusive(async () => {
      const due = now.getTime() - Date.parse(this.state.lastSealAt) >= this.state.settings.sealIntervalMs;
      return due && this.state.topDirty ? this.sealNow(now, 'crash') : undefined;
    });
  }

  seal(now: Date = this.clock()): Promise<RecoveryPoint | undefined> {
    return this.exclusive(async () => (this.state.topDirty ? this.sealNow(now, 'crash') : this.latestPoint()));
  }

  private latestPoint(): RecoveryPoint | undefined {
    return this.points().at(-1);
  }

  private points(): RecoveryPoint[] {
    return this.state.layers.flatMap((l) => (l.point ? [l.point] : []));
  }

  private async sealNow(now: Date, consistency: 'crash' | 'application'): Promise<RecoveryPoint | undefined> {
    const position = this.state.position;
    if (!position || !this.state.topDirty) return this.latestPoint();
    const layer: LayerState = { id: randomUUID(), files: {} };
    try {
      for (const disk of this.state.disks) {
        const name = `${disk.diskId}_${layer.id}.avhdx`;
        await createDisk(this.diskPath(name), { type: 'differencing', parentPath: this.diskPath(this.top.files[disk.diskId]!) });
        layer.files[disk.diskId] = name;
      }
    } catch (error) {
      await Promise.all(Object.values(layer.files).map((f) => rm(this.diskPath(f), { force: true })));
      throw diskFull('sealing a recovery point', error);
    }
    const point: RecoveryPoint = {
      id: this.top.id,
      createdAt: now.toISOString(),
      consistency,
      generation: position.generation,
      sequence: position.sequence,
      referencePoint: this.state.referencePoint,
    };
    const next = this.clone();
    next.layers.at(-1)!.point = point;
    next.layers.push(layer);
    next.topDirty = false;
    next.lastSealAt = now.toISOString();
    await this.commit(next);
    log.info('recovery point sealed', { vmId: this.vmId, point: point.id, consistency, generation: point.generation, sequence: point.sequence });
    await this.enforceRetention();
    return point;
  }

  /** Drops the oldest points beyond recoveryHistory; the latest applied state always stays. */
  private async enforceRetention(): Promise<void> {
    await this.dropLegacyMergedLayers();
    while (this.points().length > Math.max(1, this.state.settings.recoveryHistory)) {
      const layers = this.state.layers;
      const oldest = layers.findIndex((l) => l.point);
      const following = layers.findIndex((l, i) => i > oldest && l.point);
      if (following < 0) break;
      // Merging the next point's layer into its parent makes the parent show the next point; the
      // oldest point's content is then gone, which is what retention asks for.
      const next = this.clone();
      next.merging = { layerId: layers[following]!.id };
      await this.commit(next);
      await this.finishMerge(this.clone());
    }
  }

  /**
   * Layers an earlier version merged and kept (flag `merged`, no point) go the same way as a finished
   * merge: re-parent the layer above, delete the file. The engine compares content first, so a layer
   * that does not merely repeat its parent is refused and kept (its flag is dropped so it is not retried).
   */
  private async dropLegacyMergedLayers(): Promise<void> {
    for (;;) {
      const layers = this.state.layers;
      const index = layers.findIndex((l, i) => l.merged === true && !l.point && i > 0 && i < layers.length - 1);
      if (index < 0) return;
      const next = this.clone();
      next.merging = { layerId: layers[index]!.id, reparenting: true };
      await this.commit(next);
      await this.finishMerge(this.clone());
    }
  }

  private async finishMerge(next: StoredState): Promise<void> {
    const merging = next.merging!;
    const index = next.layers.findIndex((l) => l.id === merging.layerId);
    // The top layer receives logs and has no layer above to re-parent; it is never merged.
    if (index <= 0 || index >= next.layers.length - 1) {
      delete next.merging;
      await this.commit(next);
      return;
    }
    const layer = next.layers[index]!;
    const parent = next.layers[index - 1]!;
    const child = next.layers[index + 1]!;
    if (!merging.reparenting) {
      try {
        for (const file of Object.values(layer.files)) await mergeDisk(this.diskPath(file));
      } catch (error) {
        throw diskFull('merging an old recovery point', error);
      }
      merging.reparenting = true;
      await this.commit(next);
      next = this.clone();
    }
    // The merged file now shows what the layer showed; the layer above moves onto it (the engine checks
    // that the content is the same before it rewrites a locator). Running this again is harmless.
    try {
      for (const disk of this.state.disks) {
        await reparentDisk(this.diskPath(child.files[disk.diskId]!), this.diskPath(parent.files[disk.diskId]!));
      }
    } catch (error) {
      // Only an old-format layer can legitimately differ from its parent (see dropLegacyMergedLayers).
      if ((error as { code?: string }).code !== 'ERR_VHDX_PARENT_MISMATCH' || !layer.merged || layer.point) throw error;
      log.warn('an old merged layer holds more than its parent; it stays in the chain', { vmId: this.vmId, layer: layer.id, error });
      const kept = this.clone();
      delete kept.layers.find((l) => l.id === layer.id)!.merged;
      delete kept.merging;
      await this.commit(kept);
      return;
    }
    const at = next.layers.findIndex((l) => l.id === layer.id);
    const below = next.layers[at - 1]!;
    if (layer.point) {
      for (const l of next.layers.slice(0, at)) delete l.point;
      below.point = layer.point;
    }
    next.layers.splice(at, 1);
    delete next.merging;
    await this.commit(next);
    // Files go after the state stops naming them; one that cannot go now (a reader still has it open
    // on Windows) is debris that the next open removes.
    for (const file of Object.values(layer.files)) {
      await rm(this.diskPath(file), { force: true }).catch((error: unknown) =>
        log.warn('could not delete a merged layer yet; it goes when the storage is next opened', { vmId: this.vmId, file, error }),
      );
    }
    log.info('old recovery point merged', { vmId: this.vmId, layer: layer.id });
  }

  async listRecoveryPoints(): Promise<RecoveryPoint[]> {
    return this.points().map((p) => ({ ...p }));
  }

  async openRecoveryPoint(pointId: string, diskId: string): Promise<VhdxDisk> {
    const layer = this.state.layers.find((l) => l.point?.id === pointId);
    if (!layer) {
      throw new StorageError('ERR_RECOVERY_POINT_NOT_FOUND', `recovery point ${pointId} does not exist (it may have been merged away); list the points and pick another`);
    }
    return openDisk(this.diskPath(this.fileOf(layer, diskId)));
  }

  async openLatest(diskId: string): Promise<VhdxDisk> {
    return openDisk(this.diskPath(this.fileOf(this.top, diskId)));
  }

  /** One disk's chain, base first: which layers hold what changed since a kept hash manifest (src/replica/kept-manifest.ts). */
  layerChain(diskId: string): Array<{ layerId: string; pointId?: string; path: string }> {
    return this.state.layers.map((l) => ({ layerId: l.id, ...(l.point ? { pointId: l.point.id } : {}), path: this.diskPath(this.fileOf(l, diskId)) }));
  }

  private fileOf(layer: LayerState, diskId: string): string {
    const file = layer.files[normalizeGuid(diskId, 'disk id')];
    if (!file) throw new StorageError('ERR_INVALID_ARGUMENT', `disk ${diskId} is not part of replica ${this.vmId}`);
    return file;
  }
}

const STAGING_DIR = 'staging';

function damagedLog(diskId: string, error: LogFormatError): string {
  return `the stored log of disk ${diskId} is damaged (${error.message})`;
}

function damagedStaged(diskId: string, mismatch: StagedMismatch): string {
  return `its staged copy of disk ${diskId} no longer matches the record checksum of its log at ${mismatch.offset}+${mismatch.length}`;
}

/** Zeros standing in for a hollow log's payloads while its framing and compressed records are verified (checkStagedDisk checks those payloads). */
let noPayload: Buffer | undefined;

/** Verifies a stored log whole; resolves with what is wrong (a LogFormatError), or undefined. */
async function verifyStoredLog(path: string, hollow: boolean): Promise<LogFormatError | undefined> {
  try {
    // A hollow log's payload holes are passed over unread (its compressed payloads are still read and checked).
    await verifyLog(hollow ? new FileChunks(path, FRAMING_READ_BYTES) : createReadStream(path, { highWaterMark: IO_BYTES }), {}, hollow ? { payloadOf: ({ length }) => Promise.resolve((noPayload ??= Buffer.alloc(MAX_RECORD_BYTES)).subarray(0, length)) } : {});
    return undefined;
  } catch (error) {
    if (error instanceof LogFormatError) return error;
    throw error;
  }
}

/** One disk of a cycle about to be applied (planApply). */
interface ApplyPlan {
  diskId: string;
  /** The top layer the cycle goes into. */
  layer: string;
  /** The stored log. */
  log: string;
  /** A staged full copy to take as the base instead of applying the log. */
  take?: string;
  /** The disk holding a hollow log's uncompressed payloads (the staged disk, or `layer` itself). */
  payloads?: string;
}

async function isEmptyDisk(path: string): Promise<boolean> {
  const disk = await openDisk(path);
  try {
    return (await disk.map()).every((extent) => extent.state === 'absent');
  } finally {
    await disk.close();
  }
}

/** Replaces the dynamic disk at `path` with an empty one of the same geometry (atomically: a new file renamed over it). */
async function emptyAgain(path: string): Promise<void> {
  const disk = await openDisk(path);
  const info = disk.info;
  await disk.close();
  const temp = `${path}.${randomUUID().slice(0, 8)}.empty.tmp`;
  await createDisk(temp, {
    type: 'dynamic',
    virtualSize: info.virtualSize,
    blockSize: info.blockSize,
    logicalSectorSize: info.logicalSectorSize,
    physicalSectorSize: info.physicalSectorSize,
  });
  await rename(temp, path);
  await fsyncDirectory(dirname(path));
}

function cycleDir(generation: number, sequence: number): string {
  return `${generation}-${sequence}`;
}

/** Hard-links `from` as `to`; false where the volume or file system cannot (then the caller copies). */
async function linkOrFalse(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EXDEV' || code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EMLINK') return false;
    throw error;
  }
}

async function writeDurably(path: string, source: AsyncIterable<Uint8Array>): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    for await (const chunk of source) await handle.write(chunk);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The files of an apply plan this process remembered as verified (a stored log, a staged disk). */
function forgetVerified(plan: ApplyPlan): void {
  for (const path of [plan.log, plan.take, plan.payloads]) if (path !== undefined) verifiedLogs.forget(path);
}
