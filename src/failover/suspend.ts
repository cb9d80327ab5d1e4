/**
 * Suspend-VMReplication / Resume-VMReplication on one side (§2.9–2.10). A suspended primary keeps tracking
 * changes and sends them all with the next cycle after resume; a suspended replica accepts nothing until
 * resumed, but may still be failed over (Start-VMFailover flips it back first).
 */
import type { FailoverRecord } from './record.js';
import type { FailoverSite } from './site.js';
import { transition } from './state.js';

export function suspendReplication(site: FailoverSite, vmId: string): Promise<FailoverRecord> {
  return site.store.modify(vmId, (r) => transition(r, 'suspend', `replication suspended on ${site.name}`, site.clock()));
}

export function resumeReplication(site: FailoverSite, vmId: string): Promise<FailoverRecord> {
  return site.store.modify(vmId, (r) => transition(r, 'resume', `replication resumed on ${site.name}`, site.clock()));
}
