/**
 * The replica server's VMs on disk: for each, the VHDX replica storage (src/storage) in the VM's folder
 * under its authorization entry's storage location, and the definition the primary sent. This is the
 * LogConsumer of the server: a verified log is stored durably (that is the acknowledgement), then every
 * complete cycle is applied and a recovery point sealed when due (hourly; application-consistent cycles
 * at once). A failed apply leaves the logs in incoming/ and is retried by the next log or `applyAll()`.
 *
 * Every use of a VM's storage happens under its cross-process lock (storage-lock.ts) on a storage opened
 * for that use: the CLI on this host (failover, test failover) works on the same folders, and the
 * storage keeps its state in memory, so an instance kept open here would overwrite what the CLI did.
 * With failover records (replica-records.ts), a log of a VM that failed over is refused, applying waits
 * while a test failover runs, and each applied cycle is stamped on the record.
 *
 *   <vmDir>/replica-vm.json   the definition (ReplicaVmDefinition) as last received
 *   <vmDir>/state.json, disks/, incoming/   the replica storage
 *   <vmDir>/uploads/          partial uploads (LogReceiver)
 */
import { stat } from 'node:fs/promises';
import { pathExists as exists } from '../util/path-exists.js';
import { join } from 'node:path';
import { logger } from '../logging/logger.js';
import type { LogHeader, ReplicaVmDefinition } from '../protocol/index.js';
import { isStorageError } from '../storage/errors.js';
import type { RecoveryPoint } from '../storage/replica-storage.js';
import { createVhdxReplicaStorage, openVhdxReplicaStorage, type VhdxReplicaStorage } from '../storage/vhdx-replica-storage.js';
import { readJsonFile, writeFileAtomic } from './atomic-file.js';
import { ReplicaError } from './errors.js';
import type { LogConsumer, Staging, VerifiedLog } from './log-consumer.js';
import type { ReplicaRecords } from './replica-records.js';
import { withStorageLock } from './storage-lock.js';
import { UploadActivity } from './upload-activity.js';

const log = logger('replica-vms');

/**
 * A block is allocated whole on first write; the engine's 32 MiB default for dynamic disks would make a
 * replica of scattered guest writes many times larger than the data. 2 MiB matches the layers above.
 */
const DEFAULT_BLOCK_SIZE = 2 * 1024 * 1024;

export const DEFINITION_FILE = 'replica-vm.json';

export interface ReplicaVmsOptions {
  /** A crash-consistent recovery point is sealed once the newest one is this old (default 1 h). */
  sealIntervalMs?: number;
  /** Block size of new base disks (default 2 MiB). */
  blockSize?: number;
  clock?: () => Date;
  /** Called for every recovery point sealed (metrics, tests). */
  onSealed?: (vmId: string, point: RecoveryPoint) => void;
  /** The server's failover records; without them (tools, tests) logs are taken regardless of failover. */
  records?: ReplicaRecords;
}

export interface DefineResult {
  VMId: string;
  /** False when the replica already existed with the same disks. */
  Created: boolean;
  /** `generation/sequence@0` of the last applied cycle, or null before the first. */
  Position: string | null;
  ReferencePoint: string;
}

function sameDisks(a: ReplicaVmDefinition['Disks'], b: Array<{ diskId: string; virtualSize: number; logicalSectorSize: number }>): boolean {
  if (a.length !== b.length) return false;
  return a.every((d) => b.some((s) => s.diskId === d.DiskId && s.virtualSize === d.VirtualSize && s.logicalSectorSize === d.LogicalSectorSize));
}

export class ReplicaVms implements LogConsumer {
  /** Folders of the replicas this server has seen, for the periodic apply. */
  private readonly known = new Set<string>();
  /** Log uploads in progress: background work (the manifest keeper) gives way to them. */
  readonly uploads = new UploadActivity();
  /** Applies still running after their log was acknowledged (consume). */
  private readonly background = new Set<Promise<unknown>>();

  constructor(private readonly options: ReplicaVmsOptions = {}) {}

  get records(): ReplicaRecords | undefined {
    return this.options.records;
  }

  /**
   * Creates the replica of a VM from its definition, or confirms the existing one matches it. With
   * `primaryServerName` and records, the VM's failover record is created or refreshed too (refused once
   * the replica has failed over).
   */
  async define(vmDir: string, definition: ReplicaVmDefinition, primaryServerName?: string): Promise<DefineResult> {
    return withStorageLock(vmDir, 'replica server: define', async () => {
      const records = this.options.records;
      // Removed on this server while the request waited for the lock: nothing may be created again.
      await records?.refuseIfRemoved(definition.VMId);
      const existing = records ? await records.get(definition.VMId) : undefined;
      // A failed-over replica's record refuses first: its storage may be gone (Complete-VMFailover).
      if (records && existing && primaryServerName !== undefined) await records.define(definition, primaryServerName);
      let created = false;
      let storage: VhdxReplicaStorage;
      if (!(await exists(join(vmDir, 'state.json')))) {
        const settings = { recoveryHistory: definition.RecoveryHistory, ...(this.options.sealIntervalMs === undefined ? {} : { sealIntervalMs: this.options.sealIntervalMs }) };
        storage = await createVhdxReplicaStorage(vmDir, {
          vmId: definition.VMId,
          disks: definition.Disks.map((d) => ({ diskId: d.DiskId, virtualSize: d.VirtualSize, logicalSectorSize: d.LogicalSectorSize })),
          settings,
          blockSize: this.options.blockSize ?? DEFAULT_BLOCK_SIZE,
          ...(this.options.clock ? { clock: this.options.clock } : {}),
        }).catch((error: unknown) => {
          if (isStorageError(error, 'ERR_DISK_FULL')) throw new ReplicaError('ERR_DISK_FULL', (error as Error).message);
          throw error;
        });
        created = true;
        log.info('replica created', { vmId: definition.VMId, name: definition.VMName, disks: definition.Disks.length, path: vmDir });
      } else {
        storage = await this.open(vmDir);
      }
      this.known.add(vmDir);
      const status = await storage.status();
      if (!sameDisks(definition.Disks, status.disks)) {
        throw new ReplicaError(
          'ERR_INVALID_STATE',
          `the replica of ${definition.VMName} has other disks than the primary now sends (disks were added, removed or resized); remove the replica on this server and start the initial replication again`,
        );
      }
      // The planned-failover marker belongs to this request, not to the VM's lasting definition.
      const { PreparedForFailover: prepared, ...lasting } = definition;
      await writeFileAtomic(join(vmDir, DEFINITION_FILE), `${JSON.stringify(lasting, null, 2)}\n`);
      if (records && !existing && primaryServerName !== undefined) await records.define(definition, primaryServerName);
      if (prepared) {
        if (!records) throw new ReplicaError('ERR_NOT_SUPPORTED', 'this replica keeps no failover records, so it cannot take part in a planned failover');
        // The cycle is held when applied, or stored complete and waiting (a test failover holds applying back).
        const complete = status.pending.filter((c) => c.disks.length === status.disks.length).at(-1);
        const held = complete ?? (status.position ? { generation: status.position.generation, sequence: status.position.sequence } : undefined);
        await records.prepared(definition.VMId, { generation: prepared.Generation, sequence: prepared.Sequence }, held);
        log.info('planned failover prepared by the primary', { vm: definition.VMName, generation: prepared.Generation, sequence: prepared.Sequence });
      }
      return { VMId: definition.VMId, Created: created, Position: status.position?.toString() ?? null, ReferencePoint: status.referencePoint };
    });
  }

  async definition(vmDir: string): Promise<ReplicaVmDefinition | undefined> {
    return readJsonFile<ReplicaVmDefinition>(join(vmDir, DEFINITION_FILE));
  }

  /**
   * A freshly opened storage of a VM, for a caller that holds its lock (withStorage) or works alone (an
   * import before any server knows the VM); ERR_NOT_FOUND until the primary sent the VM's definition.
   */
  async storage(vmDir: string): Promise<VhdxReplicaStorage> {
    return this.open(vmDir);
  }

  /** Runs `body` on the VM's storage under its cross-process lock. */
  withStorage<T>(vmDir: string, purpose: string, body: (storage: VhdxReplicaStorage) => Promise<T>): Promise<T> {
    return withStorageLock(vmDir, purpose, async () => body(await this.open(vmDir)));
  }

  private async open(vmDir: string): Promise<VhdxReplicaStorage> {
    if (!(await exists(join(vmDir, 'state.json')))) {
      throw new ReplicaError('ERR_NOT_FOUND', 'this replica server holds no replica of the VM yet; the primary must start the initial replication (which sends the VM definition) first');
    }
    this.known.add(vmDir);
    return openVhdxReplicaStorage(vmDir, this.options.clock ? { clock: this.options.clock } : {});
  }

  /**
   * Stores the log durably and resolves: that is the acknowledgement (DESIGN §3 step 7). A cycle it
   * completes is applied after that, in the background but within the same hold of the storage lock, so
   * whoever takes the lock next (the next log, a failover or a reader on this host, the hash manifests)
   * finds it applied exactly as when the apply came before the answer; only the primary stops waiting for
   * it. A crash before the apply is over leaves the cycle stored, and the server applies it at its start.
   */
  async consume(vmDir: string, verified: VerifiedLog): Promise<void> {
    let stored!: () => void;
    const storedNow = new Promise<void>((resolve) => (stored = resolve));
    const held = withStorageLock(vmDir, 'replica server: receive and apply', async () => {
      // Checked under the lock: a failover started on this host in the meantime is seen here.
      await this.options.records?.receiving(verified.vmId, verified.primaryServerName, () => this.definition(vmDir));
      const storage = await this.open(vmDir);
      let complete: boolean;
      let bytes: number;
      try {
        // Linked, not copied: the received file becomes the incoming log (its bytes were verified by the receiver).
        bytes = (await stat(verified.path)).size;
        complete = (await storage.receiveFile(verified.path, verified.summary.header, verified.staged, verified.hollow === true)).cycleComplete;
      } catch (error) {
        // Already applied: the primary missed our acknowledgement and sent it again; it is held.
        if (isStorageError(error, 'ERR_LOG_DUPLICATE')) return;
        throw error;
      }
      stored();
      // Statistics only (the cycle's bytes and first arrival, for Measure-VMReplication here): written after the
      // acknowledgement, so the primary does not wait for their atomic write, and before the apply counts the
      // cycle, under the same hold of the lock. A crash in between counts this cycle without its bytes.
      await this.options.records?.received(verified.vmId, verified, bytes).catch((error: unknown) => {
        log.warn('the replica statistics could not record a received log; it counts without its bytes', { path: vmDir, error: (error as Error).message });
      });
      if (complete) await this.apply(vmDir, storage);
    });
    this.runsOn(held);
    await Promise.race([storedNow, held]);
  }

  /** Resolves once every apply left running after an acknowledgement is over (the server's stop waits here). */
  async settled(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  private runsOn(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined).finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  uploading(_vmDir: string): () => void {
    return this.uploads.begin();
  }

  /** A staged disk for a full copy onto a replica that holds nothing yet (VhdxReplicaStorage.stage). */
  async stage(vmDir: string, header: LogHeader, resume?: string): Promise<Staging | undefined> {
    // Only a full copy is ever staged: a delta must not wait here for the storage lock (the previous
    // cycle's apply holds it after its answer) while its upload's body goes unread.
    if (header.sequence !== 0 || header.baseReferencePoint !== '') return undefined;
    if (!(await exists(join(vmDir, 'state.json')))) return undefined;
    return withStorageLock(vmDir, 'replica server: stage', async () => (await this.open(vmDir)).stage(header, resume));
  }

  /** Applies and seals what is due in every replica this server knows (a periodic timer calls this). */
  async applyAll(): Promise<void> {
    for (const vmDir of [...this.known]) {
      // Deleted by Complete-VMFailover, or not created yet: nothing to apply.
      if (!(await exists(join(vmDir, 'state.json')))) continue;
      try {
        await withStorageLock(vmDir, 'replica server: apply', async () => {
          if (await exists(join(vmDir, 'state.json'))) await this.apply(vmDir, await this.open(vmDir));
        });
      } catch (error) {
        log.warn('a replica could not be opened for applying; retried later', { path: vmDir, error: (error as Error).message });
      }
    }
  }

  /**
   * Opens replicas found on disk (after a restart) so that what they received is applied; only for the
   * replica server at its start, before it listens (it removes staging disks no upload holds any more).
   */
  async openExisting(vmDirs: readonly string[]): Promise<void> {
    for (const vmDir of vmDirs) this.known.add(vmDir);
    // Before any upload can arrive: a staging disk there now belongs to an attempt the server did not
    // finish (it crashed), and an initial copy would otherwise carry it until its end, maybe into ENOSPC.
    for (const vmDir of vmDirs) {
      if (!(await exists(join(vmDir, 'state.json')))) continue;
      await withStorageLock(vmDir, 'replica server: start', async () => (await this.open(vmDir)).clearStaging()).catch((error: unknown) => {
        log.warn('staging disks left by an earlier run could not be removed', { path: vmDir, error: (error as Error).message });
      });
    }
    await this.applyAll();
  }

  private async apply(vmDir: string, storage: VhdxReplicaStorage): Promise<void> {
    const records = this.options.records;
    try {
      // A failed-over replica's storage belongs to the failover now; a test failover holds applying back.
      if (records && !(await records.mayApply(storage.vmId))) return;
      const pending = (await storage.status()).pending.length;
      if (pending > 0) log.info('applying received cycles', { vmId: storage.vmId, pending });
      const result = await storage.applyPending();
      const sealed = [...result.sealed];
      const due = await storage.sealIfDue();
      if (due) sealed.push(due);
      for (const point of sealed) this.options.onSealed?.(storage.vmId, point);
      await records?.applied(storage.vmId, result.applied);
    } catch (error) {
      log.warn('applying received logs failed; they stay in incoming/ and are applied later', { path: vmDir, error: (error as Error).message });
    }
  }
}
