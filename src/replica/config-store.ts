/**
 * Persists the replica server's settings and authorization entries together in one state file, so
 * that changes touching both (allowing any server replaces every entry) are atomic.
 */
import { join } from 'node:path';
import { readJsonFile, withFileLock, writeFileAtomic } from './atomic-file.js';
import { DEFAULT_SERVER_CONFIG, parseServerConfig, type ReplicaServerConfig } from './server-settings.js';

export class ReplicaConfigStore {
  readonly path: string;

  constructor(readonly stateDir: string) {
    this.path = join(stateDir, 'replica', 'server.json');
  }

  async load(): Promise<ReplicaServerConfig> {
    const raw = await readJsonFile<unknown>(this.path);
    return raw === undefined ? { ...DEFAULT_SERVER_CONFIG, AuthorizationEntries: [] } : parseServerConfig(raw, this.path);
  }

  /** Read-modify-write under the lock; `change` may throw to leave the file untouched. */
  async update<T>(change: (config: ReplicaServerConfig) => { config: ReplicaServerConfig; result: T } | Promise<{ config: ReplicaServerConfig; result: T }>): Promise<T> {
    return withFileLock(this.path, async () => {
      const { config, result } = await change(await this.load());
      await writeFileAtomic(this.path, `${JSON.stringify(config, null, 2)}\n`);
      return result;
    });
  }
}
