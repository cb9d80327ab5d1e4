/**
 * Where the primary keeps its per-VM replication state. The Replicator's state sits beside the failover
 * records (`<state>/failover/<VMId>.primary.json`, as src/failover's FailoverSite names it) so that a
 * planned failover continues from the position the agent reached.
 */
import { join } from 'node:path';
import { normalizeGuid } from '../protocol/index.js';

export function primaryStateFile(stateDir: string, vmId: string): string {
  return join(stateDir, 'failover', `${normalizeGuid(vmId, 'VM id')}.primary.json`);
}

export function cycleLockFile(stateDir: string, vmId: string): string {
  return join(stateDir, 'failover', `${normalizeGuid(vmId, 'VM id')}.cycle.lock`);
}

export function spoolDir(stateDir: string): string {
  return join(stateDir, 'spool');
}
