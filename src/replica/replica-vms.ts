/**
 * The replica server's VMs on disk: for each, the VHDX replica storage (src/storage) in the VM's folder
 * under its authorization entry's storage location, and the definition the primary sent. This is the
 * LogConsumer of the server: a verified log is stored durably (that is the acknowledgement), then every
 * complete cycle is applied and a recovery point sealed when due (hourly; application-consistent cycles
 * at once). A failed apply leaves the logs in incoming/ and is retried by the next log or `applyAll()`.
 *
 *   <vmDir>/replica-vm.json   the definition (ReplicaVmDefinition) as last received
 *   <vmDir>/state.json, disks/, incoming/   the replica storage
 *   <vmDir>/uploads/          partial uploads (LogReceiver)
 */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { logger } from '../logging/logger.js';
import type { ReplicaVmDefinition } from '../protocol/index.js';
import { isStorageError } from '../storage/errors.js';
import type { RecoveryPoint } from '../storage/replica-storage.js';
import { createVhdxReplicaStorage, openVhdxReplicaStorage, type VhdxReplicaStorage } from '../storage/vhdx-replica-storage.js';
import { readJsonFile, writeFileAtomic } from './atomic-file.js';
import { ReplicaError } from './errors.js';
import type { LogConsumer, VerifiedLog } from './log-consumer.js';

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
  private readonly storages = new Map<string, Promise<VhdxReplicaStorage>>();

  constructor(private readonly options: ReplicaVmsOptions = {}) {}

  /** Creates the replica of a VM from its definition, or confirms the existing one matches it. */
  async define(vmDir: string, definition: ReplicaVmDefinition): Promise<DefineResult> {
    let created = false;
    if (!(await exists(join(vmDir, 'state.json')))) {
      const settings = { recoveryHistory: definition.RecoveryHistory, ...(this.options.sealIntervalMs === undefined ? {} : { sealIntervalMs: this.options.sealIntervalMs }) };
      const storage = await createVhdxReplicaStorage(vmDir, {
        vmId: definition.VMId,
        disks: definition.Disks.map((d) => ({ diskId: d.DiskId, virtualSize: d.VirtualSize, logicalSectorSize: d.LogicalSectorSize })),
        settings,
        blockSize: this.options.blockSize ?? DEFAULT_BLOCK_SIZE,
        ...(this.options.clock ? { clock: this.options.clock } : {}),
      }).catch((error: unknown) => {
        if (isStorageError(error, 'ERR_DISK_FULL')) throw new ReplicaError('ERR_DISK_FULL', (error as Error).message);
        throw error;
      });
      this.storages.set(vmDir, Promise.resolve(storage));
      created = true;
      log.info('replica created', { vmId: definition.VMId, name: definition.VMName, disks: definition.Disks.length, path: vmDir });
    }
    const storage = await this.storage(vmDir);
    const status = await storage.status();
    if (!sameDisks(definition.Disks, status.disks)) {
      throw new ReplicaError(
        'ERR_INVALID_STATE',
        `the replica of ${definition.VMName} has other disks than the primary now sends (disks were added, removed or resized); remove the replica on this server and start the initial replication again`,
      );
    }
    await writeFileAtomic(join(vmDir, DEFINITION_FILE), `${JSON.stringify(definition, null, 2)}\n`);
    return { VMId: definition.VMId, Created: created, Position: status.position?.toString() ?? null, ReferencePoint: status.referencePoint };
  }

  async definition(vmDir: string): Promise<ReplicaVmDefinition | undefined> {
    return readJsonFile<ReplicaVmDefinition>(join(vmDir, DEFINITION_FILE));
  }

  /** The open storage of a VM; ERR_NOT_FOUND until the primary sent the VM's definition. */
  storage(vmDir: string): Promise<VhdxReplicaStorage> {
    let opening = this.storages.get(vmDir);
    if (!opening) {
      opening = (async () => {
        if (!(await exists(join(vmDir, 'state.json')))) {
          throw new ReplicaError('ERR_NOT_FOUND', 'this replica server holds no replica of the VM yet; the primary must start the initial replication (which sends the VM definition) first');
        }
        return openVhdxReplicaStorage(vmDir, this.options.clock ? { clock: this.options.clock } : {});
      })();
      this.storages.set(vmDir, opening);
      opening.catch(() => this.storages.delete(vmDir));
    }
    return opening;
  }

  async consume(vmDir: string, verified: VerifiedLog): Promise<void> {
    const storage = await this.storage(vmDir);
    let complete: boolean;
    try {
      complete = (await storage.receive(createReadStream(verified.path, { highWaterMark: 1024 * 1024 }))).cycleComplete;
    } catch (error) {
      // Already applied: the primary missed our acknowledgement and sent it again; it is held.
      if (isStorageError(error, 'ERR_LOG_DUPLICATE')) return;
      throw error;
    }
    if (complete) await this.apply(vmDir, storage);
  }

  /** Applies and seals what is due in every open replica (a periodic timer calls this). */
  async applyAll(): Promise<void> {
    for (const vmDir of [...this.storages.keys()]) {
      const storage = await this.storages.get(vmDir)?.catch(() => undefined);
      if (storage) await this.apply(vmDir, storage);
    }
  }

  /** Opens replicas found on disk (after a restart) so that what they received is applied. */
  async openExisting(vmDirs: readonly string[]): Promise<void> {
    for (const vmDir of vmDirs) {
      if (!(await exists(join(vmDir, 'state.json')))) continue;
      try {
        await this.storage(vmDir);
      } catch (error) {
        log.error('a replica could not be opened; it receives nothing until this is fixed', { path: vmDir, error: (error as Error).message });
      }
    }
    await this.applyAll();
  }

  private async apply(vmDir: string, storage: VhdxReplicaStorage): Promise<void> {
    try {
      const pending = (await storage.status()).pending.length;
      if (pending > 0) log.info('applying received cycles', { vmId: storage.vmId, pending });
      const result = await storage.applyPending();
      const sealed = [...result.sealed];
      const due = await storage.sealIfDue();
      if (due) sealed.push(due);
      for (const point of sealed) this.options.onSealed?.(storage.vmId, point);
    } catch (error) {
      log.warn('applying received logs failed; they stay in incoming/ and are applied later', { path: vmDir, error: (error as Error).message });
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
