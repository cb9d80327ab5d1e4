/** Three in-process sites (state directories) with real file hosts and VHDX storage, and content hashes. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diskLogId } from '../../src/engine/ids.js';
import { FileHost } from '../../src/host/file/file-host.js';
import { runWorkload } from '../../src/host/file/workload.js';
import { FailoverSite } from '../../src/failover/site.js';
import { openDisk, type VhdxDisk } from '../../src/vhdx/index.js';
import { tempDir } from '../helpers/paths.js';

export const MiB = 1024 * 1024;

/** A site over the file host of its state directory, whose VMs the tests create and write into. */
export type FileSite = FailoverSite<FileHost>;

export interface World {
  a: FileSite;
  b: FileSite;
  c: FileSite;
  cleanup(): void;
}

export function world(prefix: string): World {
  const dir = tempDir(prefix);
  const site = (name: string): FileSite => {
    const stateDir = join(dir.path, name);
    return new FailoverSite({ name: `${name}.example.test`, stateDir, host: new FileHost({ root: join(stateDir, 'vms') }), hashBlockSize: 64 * 1024, storageBlockSize: MiB });
  };
  return { a: site('hv-a'), b: site('hv-b'), c: site('hv-c'), cleanup: dir.cleanup };
}

/** A running VM with two small disks on `site`. */
export async function newVm(site: FileSite, name = 'web01'): Promise<string> {
  const vm = await site.host.createVm({ name, disks: [4 * MiB, 2 * MiB], blockSize: MiB });
  await site.host.startVm(vm.id);
  return vm.id;
}

/** Guest writes through the file host (the VM must be running): a seeded workload of small writes, zeros and trims. */
export async function guestWrites(site: FileSite, vm: string, seed: number, writes = 40): Promise<void> {
  await runWorkload(site.host, { vm, seed, maxWrites: writes, minSize: 512, maxSize: 64 * 1024, zeroShare: 0.1, trimShare: 0.05, batch: 10 });
}

async function sha(disk: VhdxDisk): Promise<string> {
  try {
    return createHash('sha256').update(await disk.read(0, disk.info.virtualSize)).digest('hex');
  } finally {
    await disk.close();
  }
}

/** SHA-256 of each disk of a VM as its guest sees it now (disk0, disk1, …). */
export async function vmContent(site: FailoverSite, vm: string): Promise<string[]> {
  const description = await site.host.getVm(vm);
  const out: string[] = [];
  for (const disk of description.disks) out.push(await sha(await openDisk(disk.currentPath)));
  return out;
}

/** SHA-256 of each disk of a recovery point (or of the latest applied state) in a site's replica storage. */
export async function storageContent(site: FailoverSite, vmId: string, pointId?: string): Promise<string[]> {
  const storage = await site.openStorage(vmId);
  const record = await site.store.require(vmId);
  const out: string[] = [];
  for (const disk of record.configuration.disks) {
    const id = diskLogId(vmId, disk.id);
    out.push(await sha(pointId ? await storage.openRecoveryPoint(pointId, id) : await storage.openLatest(id)));
  }
  return out;
}

/** Hash of the bytes of every file in a recovery point's chains: proves the chain was never written. */
export async function pointChainFingerprint(site: FailoverSite, vmId: string, pointId: string): Promise<string> {
  const storage = await site.openStorage(vmId);
  const record = await site.store.require(vmId);
  const hash = createHash('sha256');
  for (const disk of record.configuration.disks) {
    const chain = await storage.openRecoveryPoint(pointId, diskLogId(vmId, disk.id));
    const files = chain.info.chain;
    await chain.close();
    for (const file of files) hash.update(file).update(await readFile(file));
  }
  return hash.digest('hex');
}

/** Seals the replica's applied state into a recovery point and returns its id. */
export async function seal(site: FailoverSite, vmId: string): Promise<string> {
  const point = await (await site.openStorage(vmId)).seal();
  if (!point) throw new Error('nothing to seal');
  return point.id;
}
