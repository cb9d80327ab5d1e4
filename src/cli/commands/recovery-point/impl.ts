/**
 * Get-HvrVMSnapshot: the sealed recovery points of the replica storage of each selected VM, oldest first.
 * Listing never writes: the latest applied state becomes a point only when a failover chooses it.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandResult } from '../../output.js';
import { localSite, selectRecords } from '../failover/select.js';
import type { RecoveryPointArgs } from './command.js';
import { snapshotType, snapshotView } from './view.js';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export async function recoveryPointList(args: RecoveryPointArgs): Promise<CommandResult> {
  const site = localSite(args['state-dir']);
  const out: Record<string, unknown>[] = [];
  for (const { record } of await selectRecords(site, args['vm-name'])) {
    // A primary has no replica storage, and a completed failover deleted it: no points, as in Hyper-V.
    // Where the replica server registered the VM, that is where its storage is.
    if (record.mode === 'Primary' || !(await exists(join(await site.storagePath(record.vmId), 'state.json')))) continue;
    // Read under the storage lock: the replica server on this host may be applying a cycle.
    const points = await site.withStorage(record.vmId, 'recovery-point list', (storage) => storage.listRecoveryPoints());
    // The storage lists its points oldest first, as the contract wants them.
    for (const point of points) {
      if (args['snapshot-type'] === undefined || snapshotType(point) === args['snapshot-type']) out.push(snapshotView(record, point));
    }
  }
  return { data: out };
}
