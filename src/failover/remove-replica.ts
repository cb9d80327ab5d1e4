/**
 * Remove-VMReplication on the replica server (hyperv-replica.md §2.5): this end of the relationship goes, the
 * VM stays. Hyper-V keeps the replica VM at its current point as an ordinary VM, which can later be the
 * existing copy a new initial replication starts from; the primary keeps its end until its own administrator
 * removes it, and is refused from now on (src/replica/removed-relationships.ts).
 *
 * What happens to what the replica holds:
 *   received cycles   every complete cycle stored (acknowledged to the primary) is applied first, so the VM
 *                     kept is at the last point the primary was told is safe; a cycle not complete yet (some
 *                     disks' logs only) and partial uploads are deleted: they were never acknowledged. An
 *                     upload the server is writing goes first: it sees the tombstone and ends, and the removal
 *                     waits for it (uploadsEnded) before anything in the folder is deleted.
 *   recovery points   the latest point becomes the VM's own standalone disks (one flattened VHDX per disk in
 *                     `<state>/kept-replicas/<VMId>/`, the VM registered off and as no replica); every other
 *                     point and the replica storage folder are deleted, as Complete-VMFailover deletes them.
 *   a failed-over VM  (FailedOver) already is that VM: it stays as it is. A failover not completed yet, or a
 *                     running test failover, is refused with what to do first: which point to keep, and
 *                     whether the test VM's work may go, are the administrator's to decide.
 *   no content yet    (the initial replication never completed) nothing is kept but the tombstone.
 * The removal is written into the failover record first (when, and where the replica storage is), then the
 * tombstone, so from that moment the primary is refused: nothing arriving after it is stored (so acknowledged),
 * even before the registration goes. A removal that fails later is run again (the record is still there) and
 * finishes with that same tombstone entry and storage folder: the kept VM's folder says whether it was
 * complete (`kept.json`, written last, naming the removal) and is otherwise made again; the storage folder is
 * deleted before the registration that says where it is. A folder still holding the VM an earlier removal
 * kept (same VM id) is refused, naming it: this host cannot hold two VMs of one id.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { VmSummary } from '../host/host-adapter.js';
import { logger } from '../logging/logger.js';
import { readJsonFile, writeFileAtomic } from '../replica/atomic-file.js';
import { RemovedRelationships } from '../replica/removed-relationships.js';
import { UPLOAD_WAIT_MS, uploadsStillRunning } from '../replica/upload-marks.js';

export { UPLOAD_WAIT_MS };
import { withStorageLock } from '../replica/storage-lock.js';
import { replicaStatisticsFile } from '../replica/replica-statistics.js';
import { pathExists } from '../util/path-exists.js';
import { isPathWithin } from '../util/path-within.js';
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
async function refusal(site: FailoverSite, record: FailoverRecord, removal: Removal | undefined): Promise<FailoverError | undefined> {
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
  return record.state === 'FailedOver' ? undefined : earlierKept(site, record, removal);
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
  /**
   * The removal that kept it (its tombstone entry's RemovedAt, in the failover record while it runs): a rerun
   * of that removal finds its own VM by it, though the registration is gone. Absent in markers of before.
   */
  RemovedAt?: string;
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

/** A removal under way, as its failover record holds it (record.ts): which tombstone entry, which storage. */
type Removal = NonNullable<FailoverRecord['removal']>;

/** Whether the marker is of the VM this very removal kept (a run of it that failed later). */
function keptByThis(record: FailoverRecord, marker: KeptMarker, removal: Removal | undefined, registeredAt: string | null): boolean {
  if (marker.VMId !== record.vmId) return false;
  // Markers written before removals were named by RemovedAt: by the registration, while it is there.
  return marker.RemovedAt === undefined ? registeredAt !== null && marker.RegisteredAt === registeredAt : marker.RemovedAt === removal?.RemovedAt;
}

/** The marker of a VM an earlier relationship's removal kept in this VM's folder, which this removal would need. */
async function earlierKept(site: FailoverSite, record: FailoverRecord, removal: Removal | undefined): Promise<FailoverError | undefined> {
  const folder = site.keptReplicaFolder(record.vmId);
  const marker = await readJsonFile<KeptMarker>(join(folder, KEPT_MARKER));
  return marker && !keptByThis(record, marker, removal, (await site.registry.get(record.vmId))?.CreatedAt ?? null) ? keptBefore(record, folder, marker) : undefined;
}

/** The VM this removal kept in an earlier run that failed later, if it is complete and still on this host. */
async function keptEarlierByThis(site: FailoverSite, record: FailoverRecord, removal: Removal, registeredAt: string | null): Promise<VmSummary | undefined> {
  const marker = await readJsonFile<KeptMarker>(join(site.keptReplicaFolder(record.vmId), KEPT_MARKER));
  if (!marker || !keptByThis(record, marker, removal, registeredAt)) return undefined;
  return site.host.getVm(marker.HostVmId).catch(() => undefined);
}

/**
 * The folder for the VM this removal keeps: a VM this very removal kept before it failed later (returned), or
 * a clean folder. One that holds the VM of an earlier relationship's removal is refused: its VM has this id too.
 */
async function prepareKeptFolder(site: FailoverSite, record: FailoverRecord, folder: string, removal: Removal, registeredAt: string | null): Promise<VmSummary | undefined> {
  if (!(await pathExists(folder))) return undefined;
  const done = await keptEarlierByThis(site, record, removal, registeredAt);
  if (done) return done;
  const marker = await readJsonFile<KeptMarker>(join(folder, KEPT_MARKER));
  if (marker && !keptByThis(record, marker, removal, registeredAt)) throw keptBefore(record, folder, marker);
  // An attempt of this removal that did not finish (or whose VM is gone): its VM, registered from this folder
  // under this id or the one the host gave it, and its files go, and it is redone.
  for (const id of await keptVmCandidates(site, record, marker)) {
    const earlier = await site.host.getVm(id).catch(() => undefined);
    if (earlier && earlier.disks.every((d) => isPathWithin(d.currentPath, folder))) await site.host.unregisterVm(earlier.id, { force: true });
  }
  await rm(folder, { recursive: true, force: true, maxRetries: RM_RETRIES });
  return undefined;
}

/** The VMs a half-made kept VM may be on this host: the marker's id, the VM's id, and VMs of its name (Hyper-V may give another id). */
async function keptVmCandidates(site: FailoverSite, record: FailoverRecord, marker: KeptMarker | undefined): Promise<string[]> {
  const named = (await site.host.listVms()).filter((v) => v.name === record.vmName).map((v) => v.id);
  return [...new Set([...(marker ? [marker.HostVmId] : []), record.vmId, ...named])];
}

/** Windows refuses to delete a file another process still has open for a moment (an upload's file closing). */
const RM_RETRIES = 10;

/** The latest point's disks as a new VM of this host, on standalone disks in its own folder. */
async function keepLatest(site: FailoverSite, record: FailoverRecord, removal: Removal, registeredAt: string | null): Promise<VmSummary | undefined> {
  const folder = site.keptReplicaFolder(record.vmId);
  return site.withStorageAt(removal.StoragePath, 'replication remove', async (storage) => {
    const done = await prepareKeptFolder(site, record, folder, removal, registeredAt);
    if (done) return done;
    // Acknowledged cycles are the primary's latest safe point: applied before anything is kept.
    await storage.applyPending();
    // No cycle applied yet (the initial replication never completed): nothing to keep.
    if ((await storage.status()).position === undefined) return undefined;
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
      const marker: KeptMarker = { VMId: record.vmId, HostVmId: vm.id, RegisteredAt: registeredAt, RemovedAt: removal.RemovedAt, PointId: point.id, KeptAt: site.clock().toISOString() };
      await writeFileAtomic(join(folder, KEPT_MARKER), `${JSON.stringify(marker, null, 2)}\n`);
      log.info('replica VM kept as an ordinary VM', { vm: record.vmName, point: point.id, folder });
      return vm;
    } catch (error) {
      // What is left is redone by the next run (prepareKeptFolder): a cleanup that fails must not hide why.
      if (registered) await site.host.unregisterVm(registered, { force: true }).catch((e: unknown) => log.warn('could not unregister the half-kept VM', { vm: record.vmName, id: registered, error: String(e) }));
      await rm(folder, { recursive: true, force: true, maxRetries: RM_RETRIES }).catch((e: unknown) => log.warn('could not delete the half-kept VM\'s folder', { vm: record.vmName, folder, error: String(e) }));
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

/**
 * The removal of this record: the one a failed earlier run wrote into it, or a new one (when, and where the
 * replica storage is now), written before the tombstone so that a rerun always finds both.
 */
async function beginRemoval(site: FailoverSite, record: FailoverRecord): Promise<Removal> {
  if (record.removal) return record.removal;
  const removal: Removal = { RemovedAt: site.clock().toISOString(), StoragePath: await site.storagePath(record.vmId) };
  await site.store.modify(record.vmId, (r) => ({ ...r, removal }));
  return removal;
}

/**
 * The record goes last. An old primary made a replica (-AsReplica) keeps its record inside its relationship
 * file, which then describes nothing but this replica: the whole file goes in one write, so no relationship
 * is left behind that names a VM gone from the host (a removal stopped before this step runs again).
 */
async function forgetRecord(site: FailoverSite, vmId: string): Promise<void> {
  if (await site.store.relationship(vmId)) await site.store.relationships.update(vmId, () => ({ next: undefined, result: undefined }));
  else await site.store.update(vmId, () => ({ next: undefined, result: undefined }));
}

export interface RemoveReplicaOptions {
  /** How long the removal waits for uploads into the replica's folder to end (default UPLOAD_WAIT_MS). */
  uploadWaitMs?: number;
}

/**
 * After the tombstone, before anything in the folder goes: the replica server's uploads into it end first
 * (src/replica/upload-marks.ts). An open partial log cannot be deleted on Windows, and an upload still running
 * would leave one behind. Past the wait the removal stops here, saying so; run again, it goes on from here.
 */
async function uploadsEnded(record: FailoverRecord, storage: string, waitMs: number): Promise<void> {
  const running = await uploadsStillRunning(storage, waitMs);
  if (running === undefined) return;
  // A FailoverError: `replication remove` with a pattern leaves this VM with a warning and goes on with the others.
  throw new FailoverError(
    'ERR_BUSY',
    `the replica server is still receiving ${running.count} of VM '${record.vmName}' from ${record.peerServer}: ${running.which}. ` +
      'The relationship is removed already (the server refuses it from now on, and ends an upload that streams within a second; ' +
      'one whose primary stopped sending ends by the server\'s idle timeout). Run the removal again to finish it (hvreplica replication remove ' +
      `--vm-name ${record.vmName}, Remove-HvrVMReplication ${record.vmName}); if it still waits, restart the replica server`,
  );
}

/** Remove-VMReplication of the replica `vmId` on this host (its Simple record, or its ExtendedReplica record). */
export async function removeReplica(site: FailoverSite, vmId: string, options: RemoveReplicaOptions = {}): Promise<RemovedReplica> {
  let record = await site.store.require(vmId);
  const registered = await site.registry.get(vmId);
  const refused = await refusal(site, record, record.removal);
  if (refused) throw refused;
  // A completed failover whose VM still runs on the chain (Hyper-V) is refused here, before anything changes.
  if (record.heldChain) record = await finishHeldChainBeforeRemoval(site, record);
  const removal = await beginRemoval(site, record);
  // The registration's CreatedAt, kept in the tombstone: a rerun after the registration went still has it.
  const earlierEntry = (await new RemovedRelationships(site.options.stateDir).list(vmId)).find((r) => r.RemovedAt === removal.RemovedAt);
  const registeredAt = registered?.CreatedAt ?? earlierEntry?.RegisteredAt ?? null;
  await new RemovedRelationships(site.options.stateDir).add(vmId, {
    RelationshipId: registered?.RelationshipId ?? earlierEntry?.RelationshipId ?? null,
    VMName: record.vmName,
    RelationshipType: record.mode === 'ExtendedReplica' ? 'Extended' : 'Simple',
    PrimaryServerName: record.peerServer,
    ReplicaServerName: record.localServer,
    RemovedAt: removal.RemovedAt,
    RegisteredAt: registeredAt,
  });
  const storage = removal.StoragePath;
  await uploadsEnded(record, storage, options.uploadWaitMs ?? UPLOAD_WAIT_MS);
  const kept =
    record.state === 'FailedOver'
      ? await failedOverVm(site, record)
      : ((await keptEarlierByThis(site, record, removal, registeredAt)) ??
        ((await pathExists(join(storage, 'state.json'))) ? await keepLatest(site, record, removal, registeredAt) : undefined));
  // Under the storage lock, as the server's receive and apply: none of them is half-way through the folder.
  // The folder goes before the registration that says where it is (the record says so too, until the end).
  await withStorageLock(storage, 'replication remove', async () => {
    await rm(storage, { recursive: true, force: true, maxRetries: RM_RETRIES });
    await site.registry.remove(vmId);
  });
  await rm(replicaStatisticsFile(site.options.stateDir, vmId), { force: true });
  await forgetRecord(site, vmId);
  log.info('replication removed on the replica; the primary is refused from now on', { vm: record.vmName, kept: kept?.name ?? null, primary: record.peerServer });
  return { record, kept };
}
