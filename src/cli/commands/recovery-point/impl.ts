/**
 * Get-HvrVMSnapshot: the sealed recovery points of the replica storage of each selected VM, oldest first.
 * Listing never writes: the latest applied state becomes a point only when a failover chooses it.
 */
import { access } from 'node:fs/promises';
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
    if (!(await exists(site.storageRoot(record.vmId)))) continue;
    // The storage lists its points oldest first, as the contract wants them.
    for (const point of await (await site.openStorage(record.vmId)).listRecoveryPoints()) {
      if (args['snapshot-type'] === undefined || snapshotType(point) === args['snapshot-type']) out.push(snapshotView(record, point));
    }
  }
  return { data: out };
}
