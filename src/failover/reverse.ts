/**
 * Reversing the direction after a failover (Set-VMReplication -Reverse / -AsReplica, §2.2 and §5.6):
 *   setAsReplica         the old primary (VM off) becomes a replica: its VM's disks become the content of
 *                        new replica storage on the same host (local copy, verified by hash), then the old
 *                        VM goes → Replica / WaitingForInitialReplication
 *   reverseReplication   the failed-over replica becomes the primary and sends the old primary only the
 *                        blocks whose hashes differ → both sides Replicating
 * Failback is the same sequence again in the other direction (prepare, failover, reverse).
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LocalSink } from '../engine/log-sink.js';
import { diskLogId } from '../engine/ids.js';
import { savePrimaryState, type PrimaryState } from '../engine/primary-state.js';
import { replicaDisksOf } from '../engine/replicator.js';
import type { VmConfiguration } from '../host/host-adapter.js';
import { VhdxImage } from '../host/vhdx-image.js';
import { isHostErrorCode } from './host-errors.js';
import { logger } from '../logging/logger.js';
import { createVhdxReplicaStorage, type VhdxReplicaStorage } from '../storage/vhdx-replica-storage.js';
import { contentId, imageOf, seedStorage, syncByHash, type HashSyncResult } from './disk-sync.js';
import { FailoverError } from './errors.js';
import { completeFailover } from './failover.js';
import { finishHeldChain, finishHeldChainIfOff } from './held-chain.js';
import type { FailoverRecord } from './record.js';
import type { FailoverSite } from './site.js';
import { canTransition, refusal, transition } from './state.js';

const log = logger('failover');

/**
 * Set-VMReplication -AsReplica on the old primary. The VM must be off; its current content is what the
 * reversed relationship will compare against, so that only differences travel. `alsoKeep` writes what else
 * the new storage folder holds (the replica server's definition of the VM) with its content, before the old
 * VM goes: a crash after that finds the folder complete, whichever step it stopped at.
 */
export async function setAsReplica(site: FailoverSite, vmId: string, alsoKeep?: (storageFolder: string) => Promise<void>): Promise<FailoverRecord> {
  const record = await site.store.require(vmId);
  if (!canTransition(record, 'asReplica')) throw refusal(record, 'asReplica');
  if (record.testFailover) throw new FailoverError('ERR_INVALID_STATE', `a test failover of VM '${record.vmName}' is running; stop it first`);
  const vm = await site.host.getVm(vmId).catch(async (error: unknown) => {
    // A crash after the old VM went but before the record changed: its content is in the storage already.
    if (isHostErrorCode(error, 'ERR_NOT_FOUND') && (await seededStorage(site, vmId))) return undefined;
    throw error;
  });
  if (!vm) return finishAsReplica(site, vmId, record.configuration);
  if (vm.state !== 'off') {
    throw new FailoverError('ERR_INVALID_STATE', `VM '${vm.name}' is ${vm.state} on ${site.name}; turn it off before making this host its replica`);
  }
  // A failover completed here while the VM ran left it on a chain in the storage folder that is about to
  // be re-created: it moves onto its own disks first.
  if (record.heldChain) return setAsReplica(site, (await finishHeldChain(site, record)).vmId, alsoKeep);
  const current = (diskId: string) => VhdxImage.open(vm.disks.find((d) => d.id === diskId)!.currentPath);
  // Where a replica server registered the VM (a reversal over the network), else the library's place.
  await site.lockStorage(vmId, 'set as replica', async (root) => {
    await rm(root, { recursive: true, force: true });
    const storage = await createVhdxReplicaStorage(root, {
      ...replicaDisksOf(vm),
      ...(site.options.storageBlockSize ? { blockSize: site.options.storageBlockSize } : {}),
      settings: { recoveryHistory: record.recoveryHistory },
      clock: site.clock,
    });
    await seedStorage(storage, vm.configuration, current, `seed-${randomUUID()}`);
    // The old VM goes below, so its content must be in the storage first, byte for byte.
    for (const disk of vm.disks) {
      const [had, has] = [await contentOf(await current(disk.id), site.hashBlockSize), await contentOf(imageOf(await storage.openLatest(diskLogId(vm.id, disk.id))), site.hashBlockSize)];
      if (had !== has) throw new FailoverError('ERR_DATA_MISMATCH', `the replica copy of disk '${disk.id}' of VM '${vm.name}' differs from the VM's disk; the VM was left as it was`);
    }
    await alsoKeep?.(root);
  });
  const failedOverFolder = dirname(site.failedOverVmFolder(vmId));
  // Remove-VM: the VM leaves the host, its disk files stay (their content is the storage's now). Those of
  // a VM an earlier failover put here are this library's own and go with its folder.
  await site.host.unregisterVm(vmId);
  await rm(failedOverFolder, { recursive: true, force: true });
  log.info('the old VM is unregistered; its disk files are kept', { vm: vm.name, disks: vm.disks.map((d) => d.currentPath) });
  return finishAsReplica(site, vmId, vm.configuration);
}

async function seededStorage(site: FailoverSite, vmId: string): Promise<boolean> {
  try {
    return await site.withStorage(vmId, 'set as replica', async (storage) => (await storage.status()).position !== undefined);
  } catch {
    return false;
  }
}

async function finishAsReplica(site: FailoverSite, vmId: string, configuration: VmConfiguration): Promise<FailoverRecord> {
  await rm(site.primaryStateFile(vmId), { force: true });
  const next = await site.store.modify(vmId, (r) => ({
    ...transition(r, 'asReplica', `${site.name} now receives VM '${r.vmName}'; its disks are the base to compare against`, site.clock()),
    configuration,
    lastReplicationTime: null,
    lastReplicationType: 'None' as const,
  }));
  log.info('old primary is now a replica', { vm: configuration.name, host: site.name });
  return next;
}

async function contentOf(image: Awaited<ReturnType<typeof VhdxImage.open>> | ReturnType<typeof imageOf>, blockSize: number): Promise<string> {
  try {
    return await contentId(image, blockSize);
  } finally {
    await image.close();
  }
}

/**
 * Set-VMReplication -Reverse on the failed-over replica `site`: it becomes the primary towards
 * `newReplica` (the old primary). A failover not yet completed is completed first (Hyper-V merges the
 * recovery points at this step); a prepared old primary is turned into a replica on the way.
 */
export async function reverseReplication(site: FailoverSite, newReplica: FailoverSite, vmId: string): Promise<{ primary: FailoverRecord; replica: FailoverRecord; sync: HashSyncResult }> {
  let record = await site.store.require(vmId);
  if (record.state === 'FailedOverWaitingCompletion' && record.mode !== 'Primary') record = await completeFailover(site, vmId);
  // Off, the VM leaves a chain it still held before it replicates from its final disks; running, it goes on.
  record = await finishHeldChainIfOff(site, record);
  // A reverse interrupted after the switch resumes with the hand-over, which is safe to repeat.
  const resuming = record.mode === 'Primary' && record.state === 'InitialReplicationInProgress' && record.peerServer === newReplica.name;
  if (!resuming && !canTransition(record, 'reverse')) throw refusal(record, 'reverse');
  let other = await newReplica.store.require(vmId);
  if (other.mode === 'Primary' && other.state === 'PreparedForFailover') other = await setAsReplica(newReplica, vmId);
  if (other.mode !== 'Replica' || other.state !== 'WaitingForInitialReplication') {
    throw new FailoverError(
      'ERR_INVALID_STATE',
      `${newReplica.name} is not ready to receive VM '${record.vmName}' (it is ${other.mode}, ${other.state}); run Set-HvrVMReplication -AsReplica there first (or prepare a planned failover)`,
    );
  }
  // Reversing to the old primary halts replication onward to an extended replica (§5.7).
  await site.store.update(vmId, () => ({ next: undefined, result: undefined }), 'Extended');
  await rm(site.extendedStateFile(vmId), { force: true });
  if (!resuming) await site.store.modify(vmId, (r) => ({ ...transition(r, 'reverse', `replication reversed towards ${newReplica.name}`, site.clock()), peerServer: newReplica.name }));
  const sync = await newReplica.withStorage(vmId, 'reverse replication', (storage) => handOver(site, vmId, storage, site.hashBlockSize));
  const at = site.clock().toISOString();
  const primary = await site.store.modify(vmId, (r) => ({ ...transition(r, 'completeInitialReplication', `reverse replication in step: ${sync.changedBytes} differing bytes sent`, site.clock()), lastReplicationTime: at, lastReplicationType: 'Regular' as const }));
  const replica = await newReplica.store.modify(vmId, (r) => ({
    ...transition(r, 'completeInitialReplication', `reverse replication from ${site.name} in step`, newReplica.clock()),
    peerServer: site.name,
    lastReplicationTime: at,
    lastReplicationType: 'Regular' as const,
  }));
  log.info('replication reversed', { vm: record.vmName, primary: site.name, replica: newReplica.name, changedBytes: sync.changedBytes, logBytes: sync.logBytes });
  return { primary, replica, sync };
}

/**
 * Makes `site`'s VM the primary of `target`: freezes a reference point, sends the blocks whose hashes
 * differ as the next cycle of the target's generation, then leaves the Replicator's state at that point
 * so that the following cycles are ordinary deltas. A failure before the target holds the cycle discards
 * the point, so a retry starts over cleanly.
 */
export async function handOver(site: FailoverSite, vmId: string, target: VhdxReplicaStorage, blockSize: number): Promise<HashSyncResult> {
  const status = await target.status();
  if (!status.position) throw new FailoverError('ERR_INVALID_STATE', `the replica storage of VM ${vmId} holds no content to compare against; run an initial replication instead`);
  const vm = await site.host.getVm(vmId);
  const point = await site.host.createReferencePoint(vmId);
  const generation = status.position.generation;
  const sequence = status.position.sequence + 1;
  let sync: HashSyncResult;
  try {
    sync = await syncByHash({
      config: vm.configuration,
      source: (diskId) => site.host.openDiskAt(vmId, point.id, diskId),
      target,
      sink: new LocalSink(target),
      position: { generation, sequence, baseReferencePoint: status.referencePoint, newReferencePoint: point.id },
      blockSize,
    });
  } catch (error) {
    await site.host.discardReferencePoint(vmId, point.id).catch(() => undefined);
    throw error;
  }
  const disks: PrimaryState['disks'] = {};
  for (const disk of vm.disks) {
    const tracked = point.disks.find((d) => d.diskId === disk.id);
    if (!tracked) throw new FailoverError('ERR_CORRUPT_STATE', `reference point ${point.id} has no disk '${disk.id}'`);
    disks[disk.id] = { logDiskId: diskLogId(vm.id, disk.id), trackingId: tracked.trackingId };
  }
  await site.ensureStateFolder();
  await savePrimaryState(site.primaryStateFile(vmId), { formatVersion: 1, vmId: vm.id, generation, sequence, referencePoint: point.id, disks });
  await site.host.commitReferencePoint(vmId, point.id);
  return sync;
}
