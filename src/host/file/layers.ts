/**
 * Disk layer chains of a file-host VM, as Hyper-V makes them: a base VHDX and `<disk>_<guid>.avhdx`
 * differencing layers above it; the VM writes into the top one. Everything here runs under the VM lock.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { createDisk, mergeDisk, openDisk, reparentDisk } from '../../vhdx/index.js';
import type { DiskRecord } from './vm-config.js';

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
 * Merges the frozen layers `below` (base first) down into `baseFile`, top first, and re-parents `next`
 * (the layer above them, if any) onto the base, whose content the engine checks first. Safe to run
 * again after a crash: once `next` already sits on the base the merges are done, and running them again
 * would change the base's DataWriteGuid under `next`, so they are skipped.
 */
export async function foldIntoBase(folder: string, baseFile: string, below: string[], next: string | undefined): Promise<void> {
  const base = resolveFile(folder, baseFile);
  if (next !== undefined) {
    const top = await openDisk(resolveFile(folder, next));
    const onBase = top.info.parentPath !== undefined && resolve(top.info.parentPath) === resolve(base);
    await top.close();
    if (onBase) return;
  }
  for (let i = below.length - 1; i >= 0; i--) await mergeDisk(resolveFile(folder, below[i]!));
  if (next !== undefined) await reparentDisk(resolveFile(folder, next), base);
}

export async function removeFiles(folder: string, files: string[]): Promise<void> {
  for (const file of files) await rm(resolveFile(folder, file), { force: true });
}
