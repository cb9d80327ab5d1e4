/**
 * Disk-file work on failed-over VMs of the file host that the HostAdapter interface has no verb for:
 * building a standalone disk from a recovery point's chain, and moving a running VM onto new disk files
 * (Complete-VMFailover) under the VM lock, so that no guest write is lost or lands in a file being
 * replaced. Kept here, in one file, until the host adapter grows a "replace disks" operation.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { FileHost } from '../host/file/file-host.js';
import { readVm, writeVm } from '../host/file/vm-folders.js';
import { withVmLock } from '../host/file/vm-lock.js';
import { createDisk, openDisk, type VhdxDisk } from '../vhdx/index.js';
import { FailoverError } from './errors.js';

const COPY_CHUNK = 4 * 1024 * 1024;

async function copyExtents(from: VhdxDisk, to: VhdxDisk, layerOnly: boolean): Promise<void> {
  for (const extent of await from.map({ layerOnly })) {
    if (extent.state === 'data') {
      for (let at = extent.offset; at < extent.offset + extent.length; at += COPY_CHUNK) {
        await to.write(at, await from.read(at, Math.min(COPY_CHUNK, extent.offset + extent.length - at)));
      }
    } else if (extent.state === 'zero' && layerOnly) {
      // In a layer, an explicit zero hides the parent: it is content and must be kept.
      await to.zero(extent.offset, extent.length);
    }
  }
  await to.flush();
}

/** A new dynamic VHDX at `target` holding exactly what the chain topped by `chainTop` reads. */
export async function flattenChain(chainTop: string, target: string): Promise<void> {
  const from = await openDisk(chainTop);
  try {
    await createDisk(target, { type: 'dynamic', virtualSize: from.info.virtualSize, logicalSectorSize: from.info.logicalSectorSize });
    const to = await openDisk(target, { writable: true });
    try {
      await copyExtents(from, to, false);
    } finally {
      await to.close();
    }
  } catch (error) {
    await rm(target, { force: true });
    throw error;
  } finally {
    await from.close();
  }
}

/**
 * Moves every disk of a VM onto a standalone chain in `diskFolder`: a base flattened from `bases[diskId]`
 * (a recovery point's chain) plus a layer holding what the VM wrote since. The copy of the VM's own layer
 * and the switch of vm.json happen under the VM lock; files the VM no longer names in `diskFolder` go.
 */
export async function rebaseVmDisks(host: FileHost, vmId: string, bases: Record<string, string>, diskFolder: string): Promise<Record<string, string>> {
  await mkdir(diskFolder, { recursive: true });
  const folder = await host.folderOf(vmId);
  const flattened: Record<string, string> = {};
  for (const [diskId, top] of Object.entries(bases)) {
    flattened[diskId] = join(diskFolder, `${diskId}_${randomUUID()}.vhdx`);
    await flattenChain(top, flattened[diskId]!);
  }
  const result = await withVmLock(folder, 'complete failover', async () => {
    const record = await readVm(folder);
    const out: Record<string, string> = {};
    for (const disk of record.disks) {
      if (disk.layers.length > 0) {
        throw new FailoverError('ERR_INVALID_STATE', `VM '${record.name}' has reference points on disk '${disk.id}'; complete the failover before replicating it`);
      }
      const base = flattened[disk.id];
      if (!base) throw new FailoverError('ERR_INVALID_ARGUMENT', `no recovery point chain given for disk '${disk.id}' of VM '${record.name}'`);
      const layer = join(diskFolder, `${disk.id}_${randomUUID()}.avhdx`);
      await createDisk(layer, { type: 'differencing', parentPath: base });
      const from = await openDisk(isAbsolute(disk.file) ? disk.file : join(folder, disk.file));
      try {
        const to = await openDisk(layer, { writable: true });
        try {
          await copyExtents(from, to, true);
        } finally {
          await to.close();
        }
      } finally {
        await from.close();
      }
      disk.file = layer;
      out[disk.id] = layer;
    }
    record.layerEpoch += 1;
    await writeVm(folder, record);
    return out;
  });
  const keep = new Set([...Object.values(result), ...Object.values(flattened)].map((f) => resolve(f)));
  for (const entry of await readdir(diskFolder)) {
    if (!keep.has(resolve(join(diskFolder, entry)))) await rm(join(diskFolder, entry), { force: true });
  }
  return result;
}
