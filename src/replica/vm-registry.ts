/**
 * Which replica VMs this server holds, where, and for which trust group. A VM is registered by the
 * first log a primary sends for it; from then on only primaries of the same trust group may replicate
 * it (Hyper-V's rule that lets VMs move between one tenant's primaries but isolates tenants).
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeGuid } from '../protocol/index.js';
import { readJsonFile, withFileLock, writeFileAtomic } from './atomic-file.js';
import type { AuthorizationEntry } from './authorization.js';
import { ReplicaError } from './errors.js';
import { RemovedRelationships } from './removed-relationships.js';

export interface ReplicaVmRecord {
  VMId: string;
  /** Folder of this VM's replica: `<ReplicaStorageLocation>/hvreplica/<VMId>`. */
  Path: string;
  TrustGroup: string;
  AllowedPrimaryServer: string;
  PrimaryServerName: string;
  CreatedAt: string;
  /**
   * The primary's relationship this replica belongs to (`hvr-relationship-id`): set by the request that
   * registers the VM, by a definition of another one (enabled again against this replica), or by the first
   * request that names one (a VM registered before ids). Removal on this server tombstones it.
   */
  RelationshipId?: string;
}

export class VmRegistry {
  readonly dir: string;
  private readonly removed: RemovedRelationships;
  constructor(stateDir: string) {
    this.dir = join(stateDir, 'replica', 'vms');
    this.removed = new RemovedRelationships(stateDir);
  }

  private path(vmId: string): string {
    return join(this.dir, `${normalizeGuid(vmId, 'VM id')}.json`);
  }

  async get(vmId: string): Promise<ReplicaVmRecord | undefined> {
    return readJsonFile<ReplicaVmRecord>(this.path(vmId));
  }

  /** Forgets a VM (Remove-VMReplication on this server): its next request finds no replica. */
  async remove(vmId: string): Promise<void> {
    const path = this.path(vmId);
    await withFileLock(path, () => rm(path, { force: true }));
  }

  async list(): Promise<ReplicaVmRecord[]> {
    const files = await readdir(this.dir).catch(() => [] as string[]);
    const out: ReplicaVmRecord[] = [];
    for (const file of files.filter((f) => /^[0-9a-f-]{36}\.json$/.test(f)).sort()) {
      const record = await readJsonFile<ReplicaVmRecord>(join(this.dir, file));
      if (record) out.push(record);
    }
    return out;
  }

  /**
   * The VM's folder for this primary: registers it on first contact, refuses another trust group. With
   * `relationship`, the relationship the request names: recorded when the VM is registered, or when a
   * definition (`replace`) or the first request naming one finds another or none recorded.
   */
  async open(vmId: string, entry: AuthorizationEntry, primaryServerName: string, relationship?: { id: string | undefined; replace: boolean }): Promise<ReplicaVmRecord> {
    const id = normalizeGuid(vmId, 'VM id');
    const path = this.path(id);
    const wanted = relationship?.id;
    const adopts = (record: ReplicaVmRecord) => wanted !== undefined && record.RelationshipId !== wanted && (record.RelationshipId === undefined || relationship!.replace);
    const existing = await readJsonFile<ReplicaVmRecord>(path);
    if (existing && !adopts(existing)) return checkTrust(existing, entry, primaryServerName);
    return withFileLock(path, async () => {
      const again = await readJsonFile<ReplicaVmRecord>(path);
      if (again) {
        const trusted = checkTrust(again, entry, primaryServerName);
        if (!adopts(trusted)) return trusted;
        const named: ReplicaVmRecord = { ...trusted, RelationshipId: wanted! };
        await writeFileAtomic(path, `${JSON.stringify(named, null, 2)}\n`);
        return named;
      }
      // Registering anew a VM removed here: only for a relationship that may start (removed-relationships.ts).
      // Checked under this lock, which the removal takes too, so no request slips in between.
      const refusal = await this.removed.refusal(id, wanted, async () => false, relationship?.replace ? 'define' : 'continue');
      if (refusal) throw refusal;
      // The id is a validated GUID, so this path cannot leave the storage location.
      const record: ReplicaVmRecord = {
        VMId: id,
        Path: join(entry.ReplicaStorageLocation, 'hvreplica', id),
        TrustGroup: entry.TrustGroup,
        AllowedPrimaryServer: entry.AllowedPrimaryServer,
        PrimaryServerName: primaryServerName,
        CreatedAt: new Date().toISOString(),
        ...(wanted === undefined ? {} : { RelationshipId: wanted }),
      };
      await writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`);
      return record;
    });
  }
}

function checkTrust(record: ReplicaVmRecord, entry: AuthorizationEntry, primaryServerName: string): ReplicaVmRecord {
  if (record.TrustGroup.toLowerCase() !== entry.TrustGroup.toLowerCase()) {
    throw new ReplicaError(
      'ERR_UNAUTHORIZED',
      `replica VM ${record.VMId} belongs to trust group "${record.TrustGroup}"; primary ${primaryServerName} is authorized for trust group "${entry.TrustGroup}" only`,
    );
  }
  return record;
}
