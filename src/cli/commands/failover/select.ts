/**
 * Which failover records a `--vm-name` selects on this host. A replica host has no VM for a replica until
 * it fails over, so names are matched against the records (the relationship files and
 * `<state>/failover/<VMId>.json`), not against the host's VM list. Shared by `failover` and
 * `recovery-point`.
 */
import { readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { FailoverSite, recordOfRelationship, type FailoverRecord } from '../../../failover/index.js';
import { isHostErrorCode } from '../../../failover/host-errors.js';
import type { VmConfiguration, VmSummary } from '../../../host/host-adapter.js';
import { isWildcard, nameMatches, RelationshipStore, type ReplicationRelationship } from '../../../relationship/index.js';
import { CliError } from '../../cli-error.js';
import { openHostAdapter } from '../replication/host.js';
import { ExitCode } from '../../exit-codes.js';
import { logger } from '../../../logging/logger.js';
import type { Holder } from '../../../util/holder-file.js';

const log = logger('failover');

/** A record file is `<VMId>.json`; `.primary.json`, `.extended.json` and the like are other state. */
const RECORD_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.json$/;

/**
 * This host's failover site: its state directory, named like the host (the name is only used in messages),
 * over the host adapter the replication commands use here (the Hyper-V adapter on Windows, HVR_HOST and
 * `--vm-root` as for them), so that a failover registers, tests and removes VMs where the host keeps them.
 */
export function localSite(stateDir: string, vmRoot?: string): FailoverSite {
  const host = openHostAdapter({ json: false, 'state-dir': stateDir, ...(vmRoot !== undefined ? { 'vm-root': vmRoot } : {}) });
  return new FailoverSite({ name: hostname(), stateDir, host, onStorageWait: sayWaiting });
}

/**
 * A failover (or a read of the recovery points) waits for the replica server to finish what it does with the
 * VM's storage (storing and applying a cycle that arrived): said on stderr, so that the command does not seem
 * to hang, and what it waits for is named.
 */
function sayWaiting(holder: Holder, waitMs: number): void {
  log.warn(
    `waiting for process ${holder.pid} (${holder.purpose}, since ${holder.since}) to finish with the VM's replica storage; ` +
      `this command goes on once it has (a cycle being applied is never cut), or gives up with ERR_BUSY after ${Math.round(waitMs / 60_000)} min`,
    { pid: holder.pid, purpose: holder.purpose },
  );
}

/** The VM of this host with that id or name, or undefined (a replica that has not failed over has none). */
export async function hostVm(site: FailoverSite, nameOrId: string): Promise<VmSummary | undefined> {
  return site.host.getVm(nameOrId).catch((error: unknown) => {
    if (isHostErrorCode(error, 'ERR_NOT_FOUND')) return undefined;
    throw error;
  });
}

export interface Selected {
  record: FailoverRecord;
  /** The relationship the CLI's `replication enable` wrote, when the record lives inside it. */
  relationship?: ReplicationRelationship;
  /**
   * True when no failover operation has touched the relationship yet (replicated over the network by the
   * agent): the record is built from it and stored by the first operation that changes it.
   */
  adopted?: boolean;
}

/** The configuration of the VM on this host, for a record built from its relationship. */
async function configurationOf(site: FailoverSite, rel: ReplicationRelationship): Promise<VmConfiguration> {
  const vm = await site.host.getVm(rel.VMId).catch((error: unknown) => {
    if (isHostErrorCode(error, 'ERR_NOT_FOUND')) return undefined;
    throw error;
  });
  return vm?.configuration ?? { id: rel.VMId, name: rel.VMName, generation: 2, processorCount: 1, memoryBytes: 0, networkAdapters: [], disks: [] };
}

async function recordIds(site: FailoverSite, relationships: readonly ReplicationRelationship[]): Promise<string[]> {
  const files = await readdir(site.store.dir).catch(() => [] as string[]);
  const ids = new Set(relationships.map((r) => r.VMId.toLowerCase()));
  for (const file of files) {
    const match = RECORD_FILE.exec(file.toLowerCase());
    if (match) ids.add(match[1]!);
  }
  return [...ids].sort();
}

/** Explains a name that matched no record: unknown VM, or a VM that does not replicate (contract §1.5). */
async function noRecordFor(site: FailoverSite, name: string): Promise<never> {
  const vm = await hostVm(site, name);
  if (vm) throw new CliError('ERR_REPLICATION_NOT_ENABLED', `VM '${vm.name}' is not enabled for replication on this host`, ExitCode.InvalidState);
  throw new CliError('ERR_NOT_FOUND', `no VM named '${name}' replicates to or from this host`, ExitCode.NotFound);
}

/**
 * The Simple records whose VM name matches `pattern` (wildcards allowed, case-insensitive), by VM id. An
 * exact name must match one; a pattern may match none.
 */
export async function selectRecords(site: FailoverSite, pattern: string): Promise<Selected[]> {
  const name = pattern.trim();
  if (!name) throw new CliError('ERR_INVALID_ARGUMENT', '--vm-name is required', ExitCode.Usage);
  const relationships = await new RelationshipStore(site.options.stateDir).list();
  const out: Selected[] = [];
  for (const id of await recordIds(site, relationships)) {
    const relationship = relationships.find((r) => r.VMId.toLowerCase() === id);
    const stored = await site.store.get(id);
    if (stored) {
      if (nameMatches(name, stored.vmName)) out.push(relationship ? { record: stored, relationship } : { record: stored });
    } else if (relationship && nameMatches(name, relationship.VMName)) {
      out.push({ record: recordOfRelationship(relationship, await configurationOf(site, relationship)), relationship, adopted: true });
    }
  }
  if (out.length === 0 && !isWildcard(name)) return noRecordFor(site, name);
  return out;
}

/**
 * The records of this host that no relationship file holds: the replica server's records of the VMs it
 * receives (and the in-process library's). `replication get|measure` show them as the replica's view.
 */
export async function standaloneRecords(site: FailoverSite, relationships: readonly ReplicationRelationship[]): Promise<FailoverRecord[]> {
  const inRelationships = new Set(relationships.map((r) => r.VMId.toLowerCase()));
  const out: FailoverRecord[] = [];
  for (const id of await recordIds(site, [])) {
    if (inRelationships.has(id)) continue;
    const record = await site.store.get(id);
    if (record) out.push(record);
  }
  return out;
}
