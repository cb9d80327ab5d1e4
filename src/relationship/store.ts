/**
 * Primary-side relationships, one state file per VM (`<state>/relationships/<VMId>.json`), written
 * atomically under a lock so that the agent and the CLI never lose each other's updates.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeGuid } from '../protocol/index.js';
import { readJsonFile, withFileLock, writeFileAtomic } from '../replica/atomic-file.js';
import { RelationshipError } from './errors.js';
import { REPLICATION_STATES, type ReplicationRelationship } from './types.js';

export class RelationshipStore {
  readonly dir: string;
  constructor(stateDir: string) {
    this.dir = join(stateDir, 'relationships');
  }

  async get(vmId: string): Promise<ReplicationRelationship | undefined> {
    const path = this.path(vmId);
    const value = await readJsonFile<ReplicationRelationship>(path);
    return value === undefined ? undefined : check(value, path);
  }

  async list(): Promise<ReplicationRelationship[]> {
    const files = await readdir(this.dir).catch(() => [] as string[]);
    const out: ReplicationRelationship[] = [];
    for (const file of files.filter((f) => /^[0-9a-f-]{36}\.json$/.test(f)).sort()) {
      const rel = await this.get(file.slice(0, 36));
      if (rel) out.push(rel);
    }
    return out;
  }

  /** Read-modify-write of one VM's relationship; `change` returns undefined to delete it. */
  async update<T>(vmId: string, change: (current: ReplicationRelationship | undefined) => { next: ReplicationRelationship | undefined; result: T }): Promise<T> {
    const path = this.path(vmId);
    return withFileLock(path, async () => {
      const { next, result } = change(await this.get(vmId));
      if (next === undefined) await rm(path, { force: true });
      else await writeFileAtomic(path, `${JSON.stringify(next, null, 2)}\n`);
      return result;
    });
  }

  private path(vmId: string): string {
    return join(this.dir, `${normalizeGuid(vmId, 'VM id')}.json`);
  }
}

function check(value: ReplicationRelationship, path: string): ReplicationRelationship {
  if (typeof value !== 'object' || value === null || typeof value.VMId !== 'string' || !(REPLICATION_STATES as readonly string[]).includes(value.ReplicationState)) {
    throw new RelationshipError('ERR_CORRUPT_STATE', `${path} is not a replication relationship; restore it from a backup or remove it and enable replication again`);
  }
  return value;
}
