/**
 * Disk layer chains of a file-host VM, as Hyper-V makes them: a base VHDX and `<disk>_<guid>.avhdx`
 * differencing layers above it; the VM writes into the top one. Everything here runs under the VM lock.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
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

/** Sub-folder of a VM folder holding layer files that no chain names any more, until they are deleted. */
export const RETIRED_DIR = '.retired';

/**
 * Moves layer files that vm.json no longer names out of the VM folder's chain files, by rename (metadata
 * only), so that a commit can let go of the VM lock without deleting them. Deleting a big layer frees its
 * blocks, which takes longer than the whole merge on some filesystems (ext4 mounted with `discard` trims
 * them synchronously: ~80 ms for a 1% cycle here); `deleteRetired` does it afterwards, off the cycle's path.
 * A crash anywhere leaves only unreferenced files behind, which the next sweep deletes.
 */
export async function retireFiles(folder: string, files: string[]): Promise<void> {
  if (files.length === 0) return;
  const dir = join(folder, RETIRED_DIR);
  await mkdir(dir, { recursive: true });
  for (const file of files) {
    const path = resolveFile(folder, file);
    try {
      await rename(path, join(dir, basename(path)));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue; // deleted already (a commit finished after a crash)
      if (code !== 'EXDEV') throw error;
      await rm(path, { force: true }); // a layer on another volume: deleted where it is
    }
  }
}

/** Deletes what `retireFiles` set aside (any process may run it at any time: nothing names those files). */
export async function deleteRetired(folder: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(join(folder, RETIRED_DIR));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const name of names) await rm(join(folder, RETIRED_DIR, name), { force: true });
}
