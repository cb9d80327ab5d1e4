/**
 * Which replica VMs this server holds, where, and for which trust group. A VM is registered by the
 * first log a primary sends for it; from then on only primaries of the same trust group may replicate
 * it (Hyper-V's rule that lets VMs move between one tenant's primaries but isolates tenants).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeGuid } from '../protocol/index.js';
import { readJsonFile, withFileLock, writeFileAtomic } from './atomic-file.js';
import type { AuthorizationEntry } from './authorization.js';
import { ReplicaError } from './errors.js';

export interface ReplicaVmRecord {
  VMId: string;
  /** Folder of this VM's replica: `<ReplicaStorageLocation>/hvreplica/<VMId>`. */
  Path: string;
  TrustGroup: string;
  AllowedPrimaryServer: string;
  PrimaryServerName: string;
  CreatedAt: string;
}

export class VmRegistry {
  readonly dir: string;
  constructor(stateDir: string) {
    this.dir = join(stateDir, 'replica', 'vms');
  }

  async get(vmId: string): Promise<ReplicaVmRecord | undefined> {
    return readJsonFile<ReplicaVmRecord>(join(this.dir, `${normalizeGuid(vmId, 'VM id')}.json`));
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

  /** The VM's folder for this primary: registers it on first contact, refuses another trust group. */
  async open(vmId: string, entry: AuthorizationEntry, primaryServerName: string): Promise<ReplicaVmRecord> {
    const id = normalizeGuid(vmId, 'VM id');
    const path = join(this.dir, `${id}.json`);
    const existing = await readJsonFile<ReplicaVmRecord>(path);
    if (existing) return checkTrust(existing, entry, primaryServerName);
    return withFileLock(path, async () => {
      const again = await readJsonFile<ReplicaVmRecord>(path);
      if (again) return checkTrust(again, entry, primaryServerName);
      // The id is a validated GUID, so this path cannot leave the storage location.
      const record: ReplicaVmRecord = {
        VMId: id,
        Path: join(entry.ReplicaStorageLocation, 'hvreplica', id),
        TrustGroup: entry.TrustGroup,
        AllowedPrimaryServer: entry.AllowedPrimaryServer,
        PrimaryServerName: primaryServerName,
        CreatedAt: new Date().toISOString(),
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
