/**
 * Remove-VMReplication on the replica server (hyperv-replica.md §2.5): this end of the relationship goes, the
 * VM stays. Hyper-V keeps the replica VM at its current point as an ordinary VM, which can later be the
 * existing copy a new initial replication starts from; the primary keeps its end until its own administrator
 * removes it, and is refused from now on (src/replica/removed-relationships.ts).
 *
 * What happens to what the replica holds:
 *   received cycles   every complete cycle stored (acknowledged to the primary) is applied first, so the VM
 *                     kept is at the last point the primary was told is safe; a cycle not complete yet (some
 *                     disks' logs only) and partial uploads are deleted: they were never acknowledged.
 *   recovery points   the latest point becomes the VM's own standalone disks (one flattened VHDX per disk in
 *                     `<state>/kept-replicas/<VMId>/`, the VM registered off and as no replica); every other
 *                     point and the replica storage folder are deleted, as Complete-VMFailover deletes them.
 *   a failed-over VM  (FailedOver) already is that VM: it stays as it is. A failover not completed yet, or a
 *                     running test failover, is refused with what to do first: which point to keep, and
 *                     whether the test VM's work may go, are the administrator's to decide.
 *   no content yet    (the initial replication never completed) nothing is kept but the tombstone.
 * The tombstone is written first, so from that moment the primary is refused; a removal that fails later is
 * run again (the record is still there) and finishes: the kept VM's folder says whether it was complete
 * (`kept.json`, written last) and is otherwise made again. A folder still holding the VM an earlier
 * relationship's removal kept (same VM id) is refused, naming it: this host cannot hold two VMs of one id.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { VmSummary } from '../host/host-adapter.js';
import { logger } from '../logging/logger.js';
import { readJsonFile, writeFileAtomic } from '../replica/atomic-file.js';
import { RemovedRelationships } from '../replica/removed-relationships.js';
import { replicaStatisticsFile } from '../replica/replica-statistics.js';
import { pathExists } from '../util/path-exists.js';
import { createDisk } from '../vhdx/index.js';
import { FailoverError } from './errors.js';
import { finishHeldChainBeforeRemoval } from './held-chain.js';
import { isHostErrorCode } from './host-errors.js';
import { vmOnHost, type FailoverRecord } from './record.js';
import { choosePoint, pointFiles } from './recovery-points.js';
import type { FailoverSite } from './site.js';

const log = logger('failover');

export interface RemovedReplica {
  /** The relationship as it was just before removal. */
  record: FailoverRecord;
  /** The VM kept on this host, or undefined when the replica held no content yet. */
  kept: VmSummary | undefined;
}

/** Why this replica's relationship cannot be removed now, or undefined. Nothing has changed when it says so. */
async function refusal(site: FailoverSite, record: FailoverRecord, registeredAt: string | null): Promise<FailoverError | undefined> {
  const vm = record.vmName;
  if (record.mode !== 'Replica' && record.mode !== 'ExtendedReplica') {
    return new FailoverError('ERR_INVALID_STATE', `VM '${vm}' is a ${record.mode} on this host, not a replica`);
  }
  if (record.mode === 'Replica' && (await site.store.get(record.vmId, 'Extended'))) {
    return new FailoverError(
      'ERR_INVALID_STATE',
      `replication of VM '${vm}' cannot be removed while this host extends it to another replica server; remove the extended relationship first ` +
        `(hvreplica replication remove --vm-name ${vm} --replication-relationship-type Extended, Remove-HvrVMReplication ${vm} -ReplicationRelationshipType Extended), then this one`,
    );
  }
  if (record.testFailover) {
    return new FailoverError(
      'ERR_INVALID_STATE',
      `a test failover of VM '${vm}' is running (test VM '${record.testFailover.vmName}'); stop it first (hvreplica failover stop --vm-name ${vm}, Stop-HvrVMFailover), then remove replication`,
    );
  }
  if (record.state === 'RecoveryInProgress' || record.state === 'FailedOverWaitingCompletion') {
    return new FailoverError(
      'ERR_INVALID_STATE',
      `VM '${vm}' has failed over and waits for completion (${record.state}); complete the failover to keep the VM at its recovery point (hvreplica failover complete --vm-name ${vm}, Complete-HvrVMFailover) ` +
        `or cancel it (hvreplica failover stop --vm-name ${vm}), then remove replication`,
    );
  }
  return record.state === 'FailedOver' ? undefined : earlierKept(site, record, registeredAt);
}

/**
 * What a kept VM's folder says once the VM is complete there (`kept.json`), written last: a removal run again
 * after a failure finds it and goes on; a folder without it is an attempt that did not finish, and is redone.
 */
interface KeptMarker {
  VMId: string;
  /** The VM as registered on this host (Hyper-V may give it another id). */
  HostVmId: string;
  /** When this server registered the replica (its registration's CreatedAt): which relationship it came from. */
  RegisteredAt: string | null;
  PointId: string;
  KeptAt: string;
}

const KEPT_MARKER = 'kept.json';

function keptBefore(record: FailoverRecord, folder: string, marker: KeptMarker): FailoverError {
  return new FailoverError(
    'ERR_ALREADY_EXISTS',
    `${folder} holds the VM '${record.vmName}' kept by an earlier removal of its replication (${marker.KeptAt}), with the same VM id; remove that VM from this host and delete the folder (or move it elsewhere), then run the removal again`,
  );
}

/** The marker of a VM an earlier relationship's removal kept in this VM's folder, which this removal would need. */
async function earlierKept(site: FailoverSite, record: FailoverRecord, registeredAt: string | null): Promise<FailoverError | undefined> {
  const folder = site.keptReplicaFolder(record.vmId);
  const marker = await readJsonFile<KeptMarker>(join(folder, KEPT_MARKER));
  return marker && (marker.VMId !== record.vmId || marker.RegisteredAt !== registeredAt) ? keptBefore(record, folder, marker) : undefined;
}

/**
 * The folder for the VM this removal keeps: a VM this very removal kept before it failed later (returned), or
 * a clean folder. One that holds the VM of an earlier relationship's removal is refused: its VM has this id too.
 */
async function prepareKeptFolder(site: FailoverSite, record: FailoverRecord, folder: string, registeredAt: string | null): Promise<VmSummary | undefined> {
  if (!(await pathExists(folder))) return undefined;
  const marker = await readJsonFile<KeptMarker>(join(folder, KEPT_MARKER));
  if (marker && marker.VMId === record.vmId && marker.RegisteredAt === registeredAt) {
    const vm = await site.host.getVm(marker.HostVmId).catch(() => undefined);
    if (vm) return vm;
  }
  if (marker) throw keptBefore(record, folder, marker);
  // An attempt of this removal that did not finish: its VM (registered from this folder) and files go, and it is redone.
  const earlier = await site.host.getVm(record.vmId).catch(() => undefined);
  if (earlier && earlier.disks.every((d) => d.currentPath.startsWith(folder))) await site.host.unregisterVm(earlier.id, { force: true });
  await rm(folder, { recursive: true, force: true });
  return undefined;
}

/** The latest point's disks as a new VM of this host, on standalone disks in its own folder. */
async function keepLatest(site: FailoverSite, record: FailoverRecord, registeredAt: string | null): Promise<VmSummary | undefined> {
  const folder = site.keptReplicaFolder(record.vmId);
  return site.withStorage(record.vmId, 'replication remove', async (storage) => {
    const done = await prepareKeptFolder(site, record, folder, registeredAt);
    if (done) return done;
    // Acknowledged cycles are the primary's latest safe point: applied before anything is kept.
    await storage.applyPending();
    if ((await storage.status()).position === null) return undefined;
    const point = await choosePoint(storage, 'latest', record.vmName);
    const bases = await pointFiles(storage, record.configuration, point.id);
    const diskFolder = join(folder, 'disks');
    await mkdir(diskFolder, { recursive: true });
    let registered: string | undefined;
    try {
      // Registered on layers over the point, then moved onto standalone disks by the host (as a completed
      // failover is): the host decides the disks' format and names, and the chain can then go.
      const layers = [];
      for (const disk of record.configuration.disks) {
        const layer = join(diskFolder, `${disk.id}_kept_${randomUUID()}.avhdx`);
        await createDisk(layer, { type: 'differencing', parentPath: bases[disk.id]! });
        layers.push({ diskId: disk.id, path: layer });
      }
      const vm = await site.host.registerReplicaVm(record.configuration, layers, { location: join(folder, 'vm'), ordinary: true });
      registered = vm.id;
      await site.host.rebaseVmDisks(vm.id, Object.entries(bases).map(([diskId, path]) => ({ diskId, path })), diskFolder);
      const marker: KeptMarker = { VMId: record.vmId, HostVmId: vm.id, RegisteredAt: registeredAt, PointId: point.id, KeptAt: site.clock().toISOString() };
      await writeFileAtomic(join(folder, KEPT_MARKER), `${JSON.stringify(marker, null, 2)}\n`);
      log.info('replica VM kept as an ordinary VM', { vm: record.vmName, point: point.id, folder });
      return vm;
    } catch (error) {
      if (registered) await site.host.unregisterVm(registered, { force: true }).catch(() => undefined);
      await rm(folder, { recursive: true, force: true });
      throw error;
    }
  });
}

/** The VM a completed failover left on this host (FailedOver), if it is still there. */
async function failedOverVm(site: FailoverSite, record: FailoverRecord): Promise<VmSummary | undefined> {
  return site.host.getVm(vmOnHost(record)).catch((error: unknown) => {
    if (isHostErrorCode(error, 'ERR_NOT_FOUND')) return undefined;
    throw error;
  });
}

/** Remove-VMReplication of the replica `vmId` on this host (its Simple record, or its ExtendedReplica record). */
export async function removeReplica(site: FailoverSite, vmId: string): Promise<RemovedReplica> {
  let record = await site.store.require(vmId);
  const registered = await site.registry.get(vmId);
  const refused = await refusal(site, record, registered?.CreatedAt ?? null);
  if (refused) throw refused;
  // A completed failover whose VM still runs on the chain (Hyper-V) is refused here, before anything changes.
  if (record.heldChain) record = await finishHeldChainBeforeRemoval(site, record);
  await new RemovedRelationships(site.options.stateDir).add(vmId, {
    RelationshipId: registered?.RelationshipId ?? null,
    VMName: record.vmName,
    RelationshipType: record.mode === 'ExtendedReplica' ? 'Extended' : 'Simple',
    PrimaryServerName: record.peerServer,
    ReplicaServerName: record.localServer,
    RemovedAt: site.clock().toISOString(),
  });
  const storage = await site.storagePath(vmId);
  const hasStorage = await pathExists(join(storage, 'state.json'));
  const kept = record.state === 'FailedOver' ? await failedOverVm(site, record) : hasStorage ? await keepLatest(site, record, registered?.CreatedAt ?? null) : undefined;
  // Under the storage lock, as the server's receive and apply: none of them is half-way through the folder.
  await site.lockStorage(vmId, 'replication remove', async (path) => {
    await site.registry.remove(vmId);
    await rm(path, { recursive: true, force: true });
  });
  await rm(replicaStatisticsFile(site.options.stateDir, vmId), { force: true });
  await site.store.update(vmId, () => ({ next: undefined, result: undefined }));
  log.info('replication removed on the replica; the primary is refused from now on', { vm: record.vmName, kept: kept?.name ?? null, primary: record.peerServer });
  return { record, kept };
}
