/**
 * Disk layer chains of a file-host VM, as Hyper-V makes them: a base VHDX and `<disk>_<guid>.avhdx`
 * differencing layers above it; the VM writes into the top one. Everything here runs under the VM lock.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { createDisk, openDisk } from '../../vhdx/index.js';
import type { DiskRecord } from './vm-config.js';

/** Largest single read while copying a layer; bounds memory whatever the layer holds. */
const COPY_CHUNK = 4 * 1024 * 1024;

export function resolveFile(folder: string, file: string): string {
  return isAbsolute(file) ? file : join(folder, file);
}

export function currentFile(disk: DiskRecord): string {
  return disk.layers.length > 0 ? disk.layers[disk.layers.length - 1]!.file : disk.file;
}

export function newLayerName(diskId: string): string {
  return `${diskId}_${randomUUID()}.avhdx`;
}

/** Adds a differencing layer named `file` over `parentFile`. */
export async function createLayer(folder: string, file: string, parentFile: string): Promise<void> {
  await createDisk(resolveFile(folder, file), { type: 'differencing', parentPath: resolveFile(folder, parentFile) });
}

/**
 * Re-creates what layer `source` holds (its own sectors, data and zero) as a new layer `target` over
 * `parentFile`. The copy's layer map equals the source's, so change tracking carries over exactly.
 */
export async function copyLayer(folder: string, source: string, target: string, parentFile: string): Promise<void> {
  await createLayer(folder, target, parentFile);
  const from = await openDisk(resolveFile(folder, source), { writable: false });
  try {
    const to = await openDisk(resolveFile(folder, target), { writable: true });
    try {
      for (const extent of await from.map({ layerOnly: true })) {
        if (extent.state === 'zero') {
          await to.zero(extent.offset, extent.length);
        } else if (extent.state === 'data') {
          for (let at = extent.offset; at < extent.offset + extent.length; at += COPY_CHUNK) {
            const length = Math.min(COPY_CHUNK, extent.offset + extent.length - at);
            await to.write(at, await from.read(at, length));
          }
        }
      }
      await to.flush();
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
}

export async function removeFiles(folder: string, files: string[]): Promise<void> {
  for (const file of files) await rm(resolveFile(folder, file), { force: true });
}
