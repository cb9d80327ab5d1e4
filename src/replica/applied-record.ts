/**
 * A replica VM's failover record as of its last acknowledged cycle, for `replication get|measure` on the
 * replica. The replica server answers a cycle once it is stored and applies it right after, holding the
 * VM's storage lock from the store to the end of the apply and its record stamps (replica-vms.ts):
 * taking that lock first shows the cycle applied and counted, as the primary was told. A long holder (a
 * failover, a flattening) is not waited for beyond `waitMs`: the record is shown as it is then.
 */
import { join } from 'node:path';
import type { FailoverRecord } from '../failover/record.js';
import type { FailoverSite } from '../failover/site.js';
import { pathExists } from '../util/path-exists.js';
import { ReplicaError } from './errors.js';
import { withStorageLock } from './storage-lock.js';

export async function recordAfterApply(site: FailoverSite, record: FailoverRecord, waitMs = 5_000): Promise<FailoverRecord> {
  const path = await site.storagePath(record.vmId);
  if (!(await pathExists(join(path, 'state.json')))) return record;
  try {
    return await withStorageLock(path, 'replication get', async () => (await site.store.get(record.vmId)) ?? record, { waitMs });
  } catch (error) {
    if (error instanceof ReplicaError && error.code === 'ERR_BUSY') return record;
    throw error;
  }
}
