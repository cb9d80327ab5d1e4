/**
 * Where the file host's VMs live: one folder per VM under the host's root, plus VMs registered from
 * elsewhere (replica and test VMs in a storage location), remembered as link files in `<root>/.links/`.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { HostError } from '../host-error.js';
import { parseVmRecord, serializeVmRecord, VM_CONFIG_FILE, VM_NAME, type VmRecord } from './vm-config.js';

const LINKS = '.links';

export interface LocatedVm {
  folder: string;
  record: VmRecord;
}

export async function readVm(folder: string): Promise<VmRecord> {
  const path = join(folder, VM_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new HostError('ERR_NOT_FOUND', `no VM configuration at ${path}`);
    throw error;
  }
  return parseVmRecord(text, path);
}

export async function writeVm(folder: string, record: VmRecord): Promise<void> {
  await writeFileAtomic(join(folder, VM_CONFIG_FILE), serializeVmRecord(record));
}

async function subfolders(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => join(dir, e.name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function linkedFolders(root: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(join(root, LINKS));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: string[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const link = JSON.parse(await readFile(join(root, LINKS, name), 'utf8')) as { folder?: unknown };
    if (typeof link.folder === 'string') out.push(link.folder);
  }
  return out;
}

export async function allVms(root: string): Promise<LocatedVm[]> {
  const folders = [...new Set([...(await subfolders(root)), ...(await linkedFolders(root))].map((f) => resolve(f)))];
  const out: LocatedVm[] = [];
  for (const folder of folders) {
    try {
      out.push({ folder, record: await readVm(folder) });
    } catch {
      // A folder without vm.json is not a VM; a damaged one is reported when named (findVm).
    }
  }
  return out.sort((a, b) => a.record.name.localeCompare(b.record.name));
}

export async function findVm(root: string, nameOrId: string): Promise<LocatedVm> {
  const vms = await allVms(root);
  const byId = vms.find((vm) => vm.record.id === nameOrId);
  if (byId) return byId;
  const byName = vms.filter((vm) => vm.record.name === nameOrId);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) {
    throw new HostError('ERR_AMBIGUOUS', `${byName.length} VMs are named '${nameOrId}'; use the VM id (${byName.map((v) => v.record.id).join(', ')})`);
  }
  // A VM whose vm.json is damaged is not listed, but naming its folder says what is wrong with it.
  if (VM_NAME.test(nameOrId)) {
    try {
      await readVm(join(root, nameOrId));
    } catch (error) {
      if (!(error instanceof HostError && error.code === 'ERR_NOT_FOUND')) throw error;
    }
  }
  throw new HostError('ERR_NOT_FOUND', `no VM named or with id '${nameOrId}' under ${root}; "hvreplica vm list" shows the VMs`);
}

export async function linkFolder(root: string, id: string, folder: string): Promise<void> {
  await mkdir(join(root, LINKS), { recursive: true });
  await writeFileAtomic(join(root, LINKS, `${id}.json`), JSON.stringify({ folder: resolve(folder) }));
}

export async function unlinkFolder(root: string, id: string): Promise<void> {
  await rm(join(root, LINKS, `${id}.json`), { force: true });
}
