/**
 * Complete-VMFailover on a VM whose host holds its disk chain open while it runs (Hyper-V).
 *
 * Hyper-V's own Complete-VMFailover works on a running VM (the admin's flow is Start-VMFailover → Start-VM
 * → Complete-VMFailover) because Hyper-V merges its recovery snapshots live, inside the hypervisor. A third
 * party cannot: Hyper-V keeps a running VM's top layer open exclusively and its parents read-only, so their
 * files can be neither deleted, re-parented nor replaced, and the VM's drives cannot be re-pointed until it
 * is off. Turning the VM off for the step would take the service down again just after the failover
 * brought it up, so the step is cut in two instead:
 *
 *   now (VM running)  every recovery point goes except the files of the one chain the VM runs on (the
 *                     chosen point's base disk and layers, the parents of the VM's own layer); the record
 *                     becomes FailedOver and names those files (record.heldChain). Nothing the VM reads is
 *                     touched; the storage's state file goes first, so the folder is no replica storage any
 *                     more (no recovery points are listed, no log can be applied, nothing re-opens it).
 *   later (VM off)    rebaseVmDisks moves the VM onto standalone disks in its own folder (a flattened copy of
 *                     that chain plus its own layer: it reads exactly as before), then the held files and
 *                     their folder go.
 *
 * The later step runs at `failover complete` once more with the VM off (the command says so while it runs),
 * and wherever a command finds the VM off and would otherwise meet the chain: `replication set --as-replica`
 * (which re-creates the storage folder the chain is in; it needs the VM off anyway), and `--reverse`
 * (reverseReplication, reverseOverNetwork) and --continue (continueExtended, continueExtendedNetwork) when
 * the VM happens to be off. `replication remove` finishes it with the VM off and refuses while it runs, as
 * the record that names the files would go with the relationship (finishHeldChainBeforeRemoval). Running, those
 * go on without it: the reversed replication reads the VM's disks through the host, and the chain under
 * them stays as it is. Finishing after a reverse moves the VM to new files, so its next cycle is a
 * resynchronisation; the log says so.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { diskLogId } from '../engine/ids.js';
import { pruneFolder } from '../host/disk-chain.js';
import { logger } from '../logging/logger.js';
import { withStorageLock } from '../replica/storage-lock.js';
import { dropUploadMarks, UPLOAD_WAIT_MS } from '../replica/upload-marks.js';
import type { VhdxReplicaStorage } from '../storage/vhdx-replica-storage.js';
import { FailoverError } from './errors.js';
import { vmOnHost, type FailoverRecord, type HeldChain } from './record.js';
import type { FailoverSite } from './site.js';
import { transition } from './state.js';
import { uploadsEnded } from './uploads-ended.js';

const log = logger('failover');

export interface CompleteFailoverOptions {
  /** How long the completion waits for uploads into the replica's folder to end (default UPLOAD_WAIT_MS). */
  uploadWaitMs?: number;
}

/** Every file of the chains of recovery point `pointId` (per disk: its layer down to the base disk). */
async function chainFiles(storage: VhdxReplicaStorage, record: FailoverRecord, pointId: string): Promise<string[]> {
  const files: string[] = [];
  for (const disk of record.configuration.disks) {
    const chain = await storage.openRecoveryPoint(pointId, diskLogId(record.configuration.id, disk.id));
    files.push(...chain.info.chain);
    await chain.close();
  }
  return files;
}

/** Deletes everything of the storage folder but the held files: the state file first, then the rest. */
async function releaseUnheld(held: HeldChain): Promise<void> {
  await rm(join(held.storagePath, 'state.json'), { force: true });
  await pruneFolder(held.storagePath, held.files);
}

function stillRunningMessage(record: FailoverRecord, held: HeldChain): string {
  return (
    `VM '${record.vmName}' still runs on recovery point ${held.pointId}, whose files in ${held.storagePath} it holds open; ` +
    `turn it off (Stop-VM) when convenient and run 'hvreplica failover complete --vm-name ${record.vmName}' (Complete-HvrVMFailover) again ` +
    'to move its disks onto standalone files and delete that folder'
  );
}

/**
 * The first half of Complete-VMFailover on a running VM whose host holds its chain (see above): called by
 * completeFailover under the storage lock, with the point's chain tops by host disk id.
 */
export async function completeHeld(site: FailoverSite, record: FailoverRecord, storage: VhdxReplicaStorage, root: string, bases: Record<string, string>): Promise<FailoverRecord> {
  const pointId = record.failover!.pointId;
  const held: HeldChain = { pointId, storagePath: root, bases, files: await chainFiles(storage, record, pointId), since: site.clock().toISOString() };
  const next = await site.store.modify(record.vmId, (r) => {
    const done = transition(r, 'completeFailover', `failover committed to recovery point ${pointId} while the VM runs; the other recovery points removed, the point's chain kept until the VM is off`, site.clock());
    delete done.failover;
    return { ...done, heldChain: held };
  });
  // Only after the record names what to keep: a crash before this leaves a completable failover, one
  // during it a record whose next `failover complete` prunes again.
  await releaseUnheld(held);
  log.warn(`failover of '${record.vmName}' completed; ${stillRunningMessage(record, held)}`, { vm: record.vmName, files: held.files });
  return next;
}

/**
 * The second half: with the VM off, moves its disks onto standalone files in its own folder and deletes
 * the held chain. While the VM still holds it: prunes again whatever a crash may have left, and refuses
 * with ERR_INVALID_STATE saying what to do.
 */
export async function finishHeldChain(site: FailoverSite, record: FailoverRecord, options: CompleteFailoverOptions = {}): Promise<FailoverRecord> {
  const held = record.heldChain;
  if (!held) return record;
  // As the first half did (completeFailover): an upload that began before the failover and still runs would keep
  // a partial log open in the folder this deletes. Before the lock, which such an upload takes to end.
  await uploadsEnded(record, held.storagePath, options.uploadWaitMs ?? UPLOAD_WAIT_MS, `the VM's disks stay on recovery point ${held.pointId}'s chain in ${held.storagePath}`);
  return withStorageLock(held.storagePath, 'failover complete (held chain)', async () => {
    const vm = vmOnHost(record);
    if (await site.host.vmHoldsDiskFiles(vm)) {
      await releaseUnheld(held);
      throw new FailoverError('ERR_INVALID_STATE', `the failover of VM '${record.vmName}' is complete; ${stillRunningMessage(record, held)}`);
    }
    if (record.mode === 'Primary') {
      log.warn(`VM '${record.vmName}' moves onto new disk files; its next replication cycle resynchronises`, { vm: record.vmName });
    }
    await site.host.rebaseVmDisks(vm, Object.entries(held.bases).map(([diskId, path]) => ({ diskId, path })), site.failedOverDiskFolder(record.vmId));
    const next = await site.store.modify(record.vmId, (r) => {
      const done = { ...r };
      delete done.heldChain;
      return done;
    });
    // Only after the record stops naming them: a crash before this moves the VM again on the next run
    // (the copy of an unchanged chain with its layer carried reads the same), never off missing files.
    await rm(held.storagePath, { recursive: true, force: true });
    await dropUploadMarks(held.storagePath);
    log.info(`the disks of '${record.vmName}' are standalone now; recovery point ${held.pointId}'s chain is deleted`, { vm: record.vmName, folder: held.storagePath });
    return next;
  });
}

/**
 * Remove-VMReplication of a VM whose record still holds a chain (a failover completed while it ran, then
 * reversed or continued, so the record sits in the relationship file that the removal deletes). The record
 * is the only thing that knows those files must be left, so it may not go first:
 *   VM off      the chain is finished (the VM moves onto standalone disks, the folder goes), then the
 *               removal goes on;
 *   VM running  ERR_INVALID_STATE naming the two steps, and nothing changes: replication goes on (suspend
 *               it meanwhile if it must stop now), and the files never end up orphaned under a running VM.
 */
export async function finishHeldChainBeforeRemoval(site: FailoverSite, record: FailoverRecord): Promise<FailoverRecord> {
  const held = record.heldChain;
  if (!held) return record;
  if (await site.host.vmHoldsDiskFiles(vmOnHost(record))) {
    throw new FailoverError(
      'ERR_INVALID_STATE',
      `replication of VM '${record.vmName}' cannot be removed yet: the VM still runs on recovery point ${held.pointId} of its failover, whose files in ${held.storagePath} it holds open, ` +
        `and only this relationship's record knows to move it off them. Turn the VM off (Stop-VM) when convenient and run 'hvreplica replication remove --vm-name ${record.vmName}' (Remove-HvrVMReplication) again: ` +
        `it first moves the disks onto standalone files and deletes that folder. Until then 'hvreplica replication suspend' (Suspend-HvrVMReplication) pauses the replication`,
    );
  }
  return finishHeldChain(site, record);
}

/** finishHeldChain when the VM is off now; a running VM keeps its chain (the step waits, nothing fails). */
export async function finishHeldChainIfOff(site: FailoverSite, record: FailoverRecord): Promise<FailoverRecord> {
  if (!record.heldChain || (await site.host.vmHoldsDiskFiles(vmOnHost(record)))) return record;
  return finishHeldChain(site, record);
}
