/**
 * Test failover (Start-VMFailover -AsTest / Stop-VMFailover): a separate test VM on new differencing
 * layers over the chosen point; the point's chain is never written, replication goes on, and only one
 * test runs per VM. Both hosts name the test VM as Hyper-V does, "<VM> - Test"; Hyper-V realises it from
 * the configuration the primary shipped, with its network adapters disconnected.
 */
import { rm } from 'node:fs/promises';
import type { VmSummary } from '../host/host-adapter.js';
import { logger } from '../logging/logger.js';
import type { RecoveryPoint } from '../storage/replica-storage.js';
import type { VhdxReplicaStorage } from '../storage/vhdx-replica-storage.js';
import { isHostErrorCode } from './host-errors.js';
import { FailoverError } from './errors.js';
import type { FailoverRecord } from './record.js';
import { choosePoint, pointFiles, type PointChoice } from './recovery-points.js';
import type { FailoverSite } from './site.js';

const log = logger('failover');

/** Hyper-V refuses a test failover while resynchronising or updating (§2.13). */
const TESTABLE = new Set<FailoverRecord['state']>(['Replicating', 'Suspended']);

export async function startTestFailover(site: FailoverSite, vmId: string, options: { point?: PointChoice } = {}): Promise<{ record: FailoverRecord; vm: VmSummary; point: RecoveryPoint }> {
  // Under the storage lock: the point is sealed and the test VM's layers put on it before the replica
  // server (which holds back applying while the record names a test failover) may touch the storage again.
  // Checked before the lock too: a refusal must not depend on storage that a primary does not have.
  checkTestable(site, await site.store.require(vmId));
  return site.withStorage(vmId, 'test failover start', (storage) => startLocked(site, vmId, storage, options));
}

function checkTestable(site: FailoverSite, record: FailoverRecord): void {
  if (record.mode !== 'Replica' && record.mode !== 'ExtendedReplica') {
    throw new FailoverError('ERR_INVALID_STATE', `Start-HvrVMFailover -AsTest is only valid on a replica; VM '${record.vmName}' is a ${record.mode} on ${site.name}`);
  }
  if (!TESTABLE.has(record.state)) {
    throw new FailoverError('ERR_INVALID_STATE', `a test failover of VM '${record.vmName}' needs state Replicating or Suspended, not ${record.state}`);
  }
  if (record.lastReplicationTime === null) {
    throw new FailoverError('ERR_INVALID_STATE', `VM '${record.vmName}' has not completed a replication to this replica yet; there is nothing to test`);
  }
  if (record.testFailover) {
    throw new FailoverError('ERR_ALREADY_EXISTS', `a test failover of VM '${record.vmName}' is already running (test VM '${record.testFailover.vmName}'); stop it first with Stop-HvrVMFailover`);
  }
}

async function startLocked(site: FailoverSite, vmId: string, storage: VhdxReplicaStorage, options: { point?: PointChoice }): Promise<{ record: FailoverRecord; vm: VmSummary; point: RecoveryPoint }> {
  const record = await site.store.require(vmId);
  checkTestable(site, record);
  await storage.applyPending();
  const point = await choosePoint(storage, options.point ?? 'latest', record.vmName);
  const files = await pointFiles(storage, record.configuration, point.id);
  const folder = site.testVmFolder(vmId);
  const vm = await site.host.createTestVm(
    record.configuration,
    record.configuration.disks.map((d) => ({ diskId: d.id, path: files[d.id]! })),
    { location: folder },
  );
  try {
    const at = site.clock().toISOString();
    const next = await site.store.modify(vmId, (r) => {
      if (r.testFailover) throw new FailoverError('ERR_ALREADY_EXISTS', `a test failover of VM '${r.vmName}' started meanwhile`);
      return { ...r, testFailover: { vmName: vm.name, vmId: vm.id, pointId: point.id, folder, startedAt: at }, lastTestFailoverInitiatedTime: at };
    });
    log.info('test failover started', { vm: record.vmName, testVm: vm.name, point: point.id });
    return { record: next, vm, point };
  } catch (error) {
    await site.host.removeTestVm(vm.id).catch(() => undefined);
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
}

export async function stopTestFailover(site: FailoverSite, vmId: string): Promise<FailoverRecord> {
  const record = await site.store.require(vmId);
  const test = record.testFailover;
  if (!test) throw new FailoverError('ERR_INVALID_STATE', `no test failover of VM '${record.vmName}' is running on ${site.name}`);
  const vm = await site.host.getVm(test.vmId).catch((error: unknown) => {
    if (isHostErrorCode(error, 'ERR_NOT_FOUND')) return undefined;
    throw error;
  });
  if (vm) {
    if (vm.state !== 'off') await site.host.stopVm(test.vmId, { force: true });
    await site.host.removeTestVm(test.vmId);
  }
  await rm(test.folder, { recursive: true, force: true });
  const next = await site.store.modify(vmId, (r) => {
    const out = { ...r };
    delete out.testFailover;
    return out;
  });
  log.info('test failover stopped', { vm: record.vmName, testVm: test.vmName });
  return next;
}
