/**
 * `initial import` on the replica: loads an initial replication exported to removable media (the logs
 * and the VM definition that `initial start --destination-path` wrote) into a new replica, exactly as if
 * it had arrived over the network: registered under the authorization entry that admits the exporting
 * primary, stored, verified, applied and sealed as the first recovery point.
 */
import { createReadStream } from 'node:fs';
import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeReplicaVmDefinition } from '../protocol/index.js';
import type { RecoveryPoint } from '../storage/replica-storage.js';
import { findAuthorization } from './authorization.js';
import { ReplicaConfigStore } from './config-store.js';
import { ReplicaError } from './errors.js';
import { ReplicaVms } from './replica-vms.js';
import { VmRegistry } from './vm-registry.js';

interface Manifest {
  FormatVersion: number;
  VMName: string;
  VMId: string;
  PrimaryServerName: string;
  Logs: string[];
}

export interface ImportResult {
  VMName: string;
  VMId: string;
  Path: string;
  PrimaryServerName: string;
  RecoveryPoint: RecoveryPoint | undefined;
}

/** The export folder itself, or the one `<VMName>_<VMId>` folder inside `path` for this VM name. */
async function findExport(path: string, vmName: string): Promise<string> {
  const has = (dir: string) => access(join(dir, 'export.json')).then(() => true, () => false);
  if (await has(path)) return path;
  const entries = (await readdir(path).catch(() => [] as string[])).filter((e) => e.toLowerCase().startsWith(`${vmName.toLowerCase()}_`));
  for (const entry of entries) if (await has(join(path, entry))) return join(path, entry);
  throw new ReplicaError('ERR_NOT_FOUND', `no complete export of VM '${vmName}' in ${path}; give the folder "initial start --destination-path" wrote (it holds export.json)`);
}

export async function importInitialReplication(stateDir: string, vmName: string, path: string): Promise<ImportResult> {
  const folder = await findExport(path, vmName);
  const manifest = JSON.parse(await readFile(join(folder, 'export.json'), 'utf8')) as Manifest;
  if (manifest.FormatVersion !== 1 || !Array.isArray(manifest.Logs)) throw new ReplicaError('ERR_INVALID_ARGUMENT', `${folder}/export.json is not an export this version reads`);
  if (manifest.VMName.toLowerCase() !== vmName.toLowerCase()) throw new ReplicaError('ERR_INVALID_ARGUMENT', `the export in ${folder} is of VM '${manifest.VMName}', not '${vmName}'`);
  const definition = decodeReplicaVmDefinition(await readFile(join(folder, 'replica-vm.json')));
  const config = await new ReplicaConfigStore(stateDir).load();
  if (!config.ReplicationEnabled) throw new ReplicaError('ERR_INVALID_STATE', 'replication is not enabled on this server; enable it with "hvreplica server set" first');
  const entry = findAuthorization(config.AuthorizationEntries, [manifest.PrimaryServerName]);
  if (!entry) throw new ReplicaError('ERR_UNAUTHORIZED', `no authorization entry admits the exporting primary ${manifest.PrimaryServerName}; add one with "hvreplica auth add"`);
  const record = await new VmRegistry(stateDir).open(definition.VMId, entry, manifest.PrimaryServerName);
  if (await access(join(record.Path, 'state.json')).then(() => true, () => false)) {
    throw new ReplicaError('ERR_ALREADY_EXISTS', `a replica of '${vmName}' already exists in ${record.Path}; an initial replication is imported only into a new replica`);
  }
  const replicas = new ReplicaVms();
  await replicas.define(record.Path, definition);
  const storage = await replicas.storage(record.Path);
  for (const log of manifest.Logs) {
    if (log.includes('/') || log.includes('\\') || log.startsWith('.')) throw new ReplicaError('ERR_INVALID_ARGUMENT', `export.json names an invalid log file "${log}"`);
    await storage.receive(createReadStream(join(folder, log), { highWaterMark: 1024 * 1024 }));
  }
  const applied = await storage.applyPending();
  if (applied.applied.length === 0) throw new ReplicaError('ERR_INVALID_STATE', `the export in ${folder} does not hold a log for every disk of the VM`);
  const point = applied.sealed.at(-1) ?? (await storage.seal());
  return { VMName: definition.VMName, VMId: definition.VMId, Path: record.Path, PrimaryServerName: manifest.PrimaryServerName, RecoveryPoint: point };
}
