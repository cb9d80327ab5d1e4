/**
 * PendingReplicationSize of a primary relationship — the data at risk (DESIGN §6): bytes changed on the
 * VM's disks that the replica has not acknowledged, computed at the moment it is asked for from the host's
 * change tracker, never from a stored figure and never by taking a reference point.
 *
 * Per disk: the changes since the tracking id of the last acknowledged cycle (the primary's state file),
 * up to now. A cycle in flight is part of it until the replica acknowledges it (its frozen layer is still
 * above the acknowledged point), as are the writes made while it runs. Before the first acknowledgement,
 * or once tracking has lost its place, nothing on the replica can be counted on: every allocated byte is
 * pending (Hyper-V: the remaining initial replication). Hyper-V reports it on the primary only; replica
 * rows keep 0.
 */
import { loadPrimaryState, type PrimaryState } from '../engine/primary-state.js';
import type { HostAdapter } from '../host/host-adapter.js';
import { logger } from '../logging/logger.js';
import { isResyncRequired } from '../tracking/change-tracker.js';
import type { ReplicationRelationship } from './types.js';

const log = logger('relationship');

/** Whether this row is one whose data at risk the primary computes (Hyper-V: primary side only). */
export function carriesPendingSize(rel: Pick<ReplicationRelationship, 'ReplicationMode' | 'ReplicationRelationshipType'>): boolean {
  return rel.ReplicationMode === 'Primary' && rel.ReplicationRelationshipType === 'Simple';
}

/** Bytes not yet on the replica, summed over the VM's disks. `state` is the primary's (undefined: none yet). */
export async function pendingReplicationSize(host: HostAdapter, vmId: string, state: PrimaryState | undefined): Promise<number> {
  const vm = await host.getVm(vmId);
  let total = 0;
  for (const disk of vm.disks) {
    const tracked = state && state.fullCopyRequired !== true ? state.disks[disk.id]?.trackingId : undefined;
    // An empty id is a point whose tracking could not be matched (Hyper-V): the next cycle resynchronises.
    const since = tracked === '' ? undefined : tracked;
    try {
      total += await host.pendingBytes(vm.id, disk.id, since);
    } catch (error) {
      if (since === undefined || !isResyncRequired(error)) throw error;
      total += await host.pendingBytes(vm.id, disk.id, undefined);
    }
  }
  return total;
}

/**
 * The figure `replication measure` and /metrics show for one row: computed for a primary row, 0 for the
 * others and for a primary whose VM is not on this host (nothing here is at risk). null when the tracker
 * cannot be read right now (a warning says why), so a reader never mistakes an unknown for "nothing".
 */
export async function pendingSizeNow(host: HostAdapter, rel: ReplicationRelationship, primaryStateFile: string): Promise<number | null> {
  if (!carriesPendingSize(rel)) return 0;
  try {
    return await pendingReplicationSize(host, rel.VMId, await loadPrimaryState(primaryStateFile));
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_NOT_FOUND') return 0;
    log.warn(`the data at risk (PendingReplicationSize) of '${rel.VMName}' cannot be read now: ${(error as Error).message}`, { vm: rel.VMName });
    return null;
  }
}
