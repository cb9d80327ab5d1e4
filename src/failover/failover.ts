/**
 * Planned and unplanned failover (hyperv-replica.md §2.13–2.15, §5.6):
 *   prepareFailover   primary, VM off: a last cycle sends every remaining change → PreparedForFailover
 *   startFailover     replica: the VM is registered from the configuration on its own differencing
 *                     layers over the chosen point (the chain stays untouched) → FailedOverWaitingCompletion
 *   stopFailover      Stop-VMFailover: ends a test failover, or cancels a failover (→ Replicating, chain
 *                     untouched, another point may be chosen), or cancels a prepare on the primary
 *   completeFailover  keeps the chosen point as a standalone disk, deletes every other point → FailedOver
 *                     (on a host that holds a running VM's chain, Hyper-V, in two steps: ./held-chain.ts)
 * Every VM operation goes through the site's host adapter (the file host, or Hyper-V on a Windows replica,
 * which realises the VM from the configuration its primary shipped: record.configuration.exportedDefinition).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { CycleResult } from '../engine/replicator.js';
import type { VmSummary } from '../host/host-adapter.js';
import { logger } from '../logging/logger.js';
import { dropUploadMarks, UPLOAD_WAIT_MS } from '../replica/upload-marks.js';
import type { RecoveryPoint } from '../storage/replica-storage.js';
import type { VhdxReplicaStorage } from '../storage/vhdx-replica-storage.js';
import { createDisk } from '../vhdx/index.js';
import { FailoverError } from './errors.js';
import { completeHeld, finishHeldChain, type CompleteFailoverOptions } from './held-chain.js';
import { isHostErrorCode } from './host-errors.js';
import { vmOnHost, type FailoverRecord } from './record.js';
import { choosePoint, pointFiles, type PointChoice } from './recovery-points.js';
import { replicateOnce } from './replication.js';
import type { FailoverSite } from './site.js';
import { canTransition, refusal, transition } from './state.js';
import { stopTestFailover } from './test-failover.js';
import { uploadsEnded } from './uploads-ended.js';

const log = logger('failover');

/** Start-VMFailover -Prepare on the primary: the VM must be off; its last changes reach the replica. */
export async function prepareFailover(primary: FailoverSite, replica: FailoverSite, vmId: string): Promise<{ record: FailoverRecord; cycle: CycleResult }> {
  const record = await primary.store.require(vmId);
  if (!canTransition(record, 'prepareFailover')) throw refusal(record, 'prepareFailover');
  const vm = await primary.host.getVm(vmId);
  if (vm.state !== 'off') {
    throw new FailoverError('ERR_INVALID_STATE', `VM '${vm.name}' is ${vm.state}; a planned failover needs it off (Stop-VM), so that no change is left behind`);
  }
  const cycle = await replicateOnce(primary, replica, vmId, { planned: true });
  const next = await primary.store.modify(vmId, (r) => transition(r, 'prepareFailover', `planned failover prepared: cycle ${cycle.generation}/${cycle.sequence} holds every change`, primary.clock()));
  return { record: next, cycle };
}

/** Hyper-V locks a prepared primary VM from starting; the CLI's start command asks this first. */
export function assertMayStart(record: FailoverRecord | undefined): void {
  if (record?.mode === 'Primary' && record.state === 'PreparedForFailover') {
    throw new FailoverError('ERR_INVALID_STATE', `VM '${record.vmName}' is prepared for a planned failover; run Stop-HvrVMFailover on this host first to start it here`);
  }
}

export interface StartFailoverOptions {
  /** Default 'latest'. */
  point?: PointChoice;
  /** Start the VM once registered (Hyper-V's UI option; the cmdlet leaves it off). */
  start?: boolean;
  /** The primary's site when reachable: refuse while its VM runs (Hyper-V's split-brain guard). */
  primary?: FailoverSite;
}

export interface StartFailoverResult {
  record: FailoverRecord;
  vm: VmSummary;
  point: RecoveryPoint;
}

/** Start-VMFailover on the replica (planned after a prepare, or unplanned). */
export async function startFailover(site: FailoverSite, vmId: string, options: StartFailoverOptions = {}): Promise<StartFailoverResult> {
  // Under the storage lock: a replica server on this host applies nothing meanwhile, and once the record
  // leaves Replicating inside the lock, it refuses every further log (split brain).
  // Checked before the lock too: a refusal must not depend on storage that a primary does not have.
  checkFailover(await site.store.require(vmId));
  return site.withStorage(vmId, 'failover start', (storage) => startFailoverLocked(site, vmId, storage, options));
}

function checkFailover(record: FailoverRecord): void {
  if (!canTransition(record, 'startFailover')) throw refusal(record, 'startFailover');
  if (record.lastReplicationTime === null) {
    throw new FailoverError('ERR_INVALID_STATE', `VM '${record.vmName}' has not completed a replication to this replica yet; there is nothing to fail over to`);
  }
  if (record.testFailover) {
    throw new FailoverError('ERR_INVALID_STATE', `a test failover of VM '${record.vmName}' is running (test VM '${record.testFailover.vmName}'); stop it with Stop-HvrVMFailover first`);
  }
}

async function startFailoverLocked(site: FailoverSite, vmId: string, storage: VhdxReplicaStorage, options: StartFailoverOptions): Promise<StartFailoverResult> {
  const record = await site.store.require(vmId);
  checkFailover(record);
  if (options.primary) {
    const primaryRecord = await options.primary.store.get(vmId);
    const primaryVm = primaryRecord?.mode === 'Primary' ? await options.primary.host.getVm(vmId).catch(() => undefined) : undefined;
    if (primaryVm?.state === 'running') {
      throw new FailoverError('ERR_INVALID_STATE', `VM '${record.vmName}' is still running on primary ${options.primary.name}; shut it down (or use a planned failover) before failing over`);
    }
  }
  const config = record.configuration;
  await site.store.modify(vmId, (r) => transition(r, 'startFailover', `failover to ${options.point ?? 'latest'} point started`, site.clock()));
  const diskFolder = site.failedOverDiskFolder(vmId);
  const vmFolder = site.failedOverVmFolder(vmId);
  let registered: string | undefined;
  try {
    await storage.applyPending();
    const point = await choosePoint(storage, options.point ?? 'latest', record.vmName);
    const bases = await pointFiles(storage, config, point.id);
    await mkdir(diskFolder, { recursive: true });
    const layers: Record<string, string> = {};
    for (const disk of config.disks) {
      const layer = join(diskFolder, `${disk.id}_failover_${randomUUID()}.avhdx`);
      await createDisk(layer, { type: 'differencing', parentPath: bases[disk.id]! });
      layers[disk.id] = layer;
    }
    let vm = await site.host.registerReplicaVm(
      config,
      config.disks.map((d) => ({ diskId: d.id, path: layers[d.id]! })),
      { location: vmFolder },
    );
    registered = vm.id;
    if (options.start) vm = await site.host.startVm(vm.id);
    // Planned only when the point is the prepared last cycle itself; any older point loses changes.
    const position = (await storage.status()).position;
    // The prepared cycle's position when the primary said which it was (over the network), else the last one.
    const planned = record.plannedPosition ?? (record.lastReplicationType === 'Planned' ? position : undefined);
    const last = planned !== undefined && point.generation === planned.generation && point.sequence === planned.sequence;
    const type = last ? 'Planned' : point.consistency === 'application' ? 'ApplicationConsistent' : 'Regular';
    const next = await site.store.modify(vmId, (r) => ({
      ...transition(r, 'failoverReady', `VM brought up from recovery point ${point.id} (${point.createdAt})`, site.clock()),
      failover: { pointId: point.id, type, layers, vmFolder },
      ...(vm.id.toLowerCase() !== vmId.toLowerCase() ? { hostVmId: vm.id } : {}),
      failedOverReplicationType: type,
    }));
    log.info('failed over', { vm: record.vmName, host: site.name, point: point.id, type });
    return { record: next, vm, point };
  } catch (error) {
    if (registered) await site.host.unregisterVm(registered, { force: true }).catch(() => undefined);
    await rm(diskFolder, { recursive: true, force: true });
    await rm(vmFolder, { recursive: true, force: true });
    await site.store.modify(vmId, (r) => transition(r, 'cancelFailover', `failover failed: ${(error as Error).message}`, site.clock()));
    throw error;
  }
}

/**
 * Unregisters the failed-over VM (Remove-VM: turned off, its configuration gone) and deletes its own
 * layers; the recovery points below them were never written.
 */
async function revertFailover(site: FailoverSite, record: FailoverRecord): Promise<FailoverRecord> {
  const id = vmOnHost(record);
  const vm = await site.host.getVm(id).catch((error: unknown) => {
    if (isHostErrorCode(error, 'ERR_NOT_FOUND')) return undefined;
    throw error;
  });
  if (vm) await site.host.unregisterVm(id, { force: true });
  await rm(site.failedOverDiskFolder(record.vmId), { recursive: true, force: true });
  await rm(site.failedOverVmFolder(record.vmId), { recursive: true, force: true });
  return site.store.modify(record.vmId, (r) => {
    const next = transition(r, 'cancelFailover', 'failover cancelled (Stop-VMFailover); the recovery points are as before', site.clock());
    delete next.failover;
    delete next.hostVmId;
    return { ...next, failedOverReplicationType: 'None' };
  });
}

export type StopFailoverOutcome = 'test-failover-stopped' | 'failover-cancelled' | 'prepare-cancelled';

/**
 * Stop-VMFailover, with Hyper-V's order: a test failover first, then a failover or a prepare. On a replica
 * it runs under the VM's storage lock, as the start and the completion do: a cancel must not undo a failover
 * that another process is still bringing up, nor one that a completion is committing, and both see the
 * record as the one before them left it.
 */
export async function stopFailover(site: FailoverSite, vmId: string): Promise<{ record: FailoverRecord; outcome: StopFailoverOutcome }> {
  const record = await site.store.require(vmId);
  if (record.testFailover || canTransition(record, 'cancelFailover')) return site.lockStorage(vmId, 'failover stop', () => stopLocked(site, vmId));
  return stopLocked(site, vmId);
}

async function stopLocked(site: FailoverSite, vmId: string): Promise<{ record: FailoverRecord; outcome: StopFailoverOutcome }> {
  const record = await site.store.require(vmId);
  if (record.testFailover) return { record: await stopTestFailover(site, vmId), outcome: 'test-failover-stopped' };
  if (canTransition(record, 'cancelFailover')) return { record: await revertFailover(site, record), outcome: 'failover-cancelled' };
  if (canTransition(record, 'cancelPrepare')) {
    const next = await site.store.modify(vmId, (r) => transition(r, 'cancelPrepare', 'planned failover cancelled; replication continues and the VM may start', site.clock()));
    return { record: next, outcome: 'prepare-cancelled' };
  }
  throw new FailoverError(
    'ERR_INVALID_STATE',
    `Stop-HvrVMFailover has nothing to stop for VM '${record.vmName}' in state ${record.state} (${record.mode}): it needs a running test failover, or FailedOverWaitingCompletion/RecoveryInProgress on a replica, or PreparedForFailover on a primary`,
  );
}

/**
 * Complete-VMFailover: the chosen point becomes the VM's own standalone disk; every other point goes. On a
 * host that holds the running VM's chain (Hyper-V) the chain stays until the VM is off, and the same
 * command run again then (or on a record completed that way, whatever its state since) finishes it.
 */
export async function completeFailover(site: FailoverSite, vmId: string, options: CompleteFailoverOptions = {}): Promise<FailoverRecord> {
  const record = await site.store.require(vmId);
  if (record.heldChain) return finishHeldChain(site, record, options);
  checkComplete(record);
  // Before the storage lock: an upload ends by handing its log to the storage under that lock (where it is
  // refused, the replica having failed over), so waiting for it inside the lock could only time out.
  await uploadsEnded(record, await site.storagePath(vmId), options.uploadWaitMs ?? UPLOAD_WAIT_MS, 'the failover stays FailedOverWaitingCompletion');
  return site.withStorage(vmId, 'failover complete', async (storage, root) => {
    // Read again under the lock: a Stop-HvrVMFailover, or another failover, may have run while this one waited.
    const current = await site.store.require(vmId);
    const failover = checkComplete(current);
    const bases = await pointFiles(storage, current.configuration, failover.pointId);
    if (await site.host.vmHoldsDiskFiles(vmOnHost(current))) return completeHeld(site, current, storage, root, bases);
    await site.host.rebaseVmDisks(vmOnHost(current), Object.entries(bases).map(([diskId, path]) => ({ diskId, path })), site.failedOverDiskFolder(vmId));
    const next = await site.store.modify(vmId, (r) => {
      const done = transition(r, 'completeFailover', `failover committed to recovery point ${failover.pointId}; other recovery points removed`, site.clock());
      delete done.failover;
      return done;
    });
    // Only after the record says FailedOver: a crash before this leaves a completable failover.
    await rm(root, { recursive: true, force: true });
    await dropUploadMarks(root);
    return next;
  });
}


function checkComplete(record: FailoverRecord): NonNullable<FailoverRecord['failover']> {
  if (!canTransition(record, 'completeFailover')) throw refusal(record, 'completeFailover');
  if (!record.failover) throw new FailoverError('ERR_CORRUPT_STATE', `VM '${record.vmName}' is ${record.state} but its record names no failover; cancel it with Stop-HvrVMFailover`);
  return record.failover;
}

