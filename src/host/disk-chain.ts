/**
 * VHDX chain work both host adapters share for rebaseVmDisks (Complete-VMFailover): a standalone copy of
 * what a chain reads, and a VM's own differencing layer carried over onto that copy. Plain files through
 * the VHDX engine; the callers decide when the files may be touched (VM lock, VM off).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createDisk, openDisk, type VhdxDisk } from '../vhdx/index.js';

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

/** The standalone base of one disk in `folder`, flattened from the chain its VM layer sits on. */
export async function flattenedBase(folder: string, diskKey: string, chainTop: string): Promise<string> {
  await mkdir(folder, { recursive: true });
  const target = join(folder, `${diskKey}_${randomUUID()}.vhdx`);
  await flattenChain(chainTop, target);
  return target;
}

/**
 * A new differencing layer over `base` in `folder` holding what the VM's own layers `vmLayers` hold, bottom
 * first (its writes since it was put on the old chain; more than one where a host keeps a committed
 * reference point as a layer): `base` + the new layer read as the VM's disk reads now.
 */
export async function carryLayer(folder: string, diskKey: string, base: string, vmLayers: readonly string[]): Promise<string> {
  const layer = join(folder, `${diskKey}_${randomUUID()}.avhdx`);
  await createDisk(layer, { type: 'differencing', parentPath: base });
  try {
    const to = await openDisk(layer, { writable: true });
    try {
      // Bottom first: a block a higher layer holds too is written again with the content the VM reads.
      for (const vmLayer of vmLayers) {
        const from = await openDisk(vmLayer);
        try {
          await copyExtents(from, to, true);
        } finally {
          await from.close();
        }
      }
    } finally {
      await to.close();
    }
  } catch (error) {
    await rm(layer, { force: true });
    throw error;
  }
  return layer;
}

/**
 * Deletes every file under `folder` but those in `keep` (the chains a VM uses now) and their side files
 * (`<file>.rct`, `<file>.mrt`: Hyper-V's change tracking, held open with the disk), then the sub-folders
 * left empty.
 */
export async function pruneFolder(folder: string, keep: readonly string[]): Promise<void> {
  // Windows paths name one file in any case.
  const key = (path: string): string => (process.platform === 'win32' ? resolve(path).toLowerCase() : resolve(path));
  const kept = new Set(keep.map(key));
  const keeps = (path: string): boolean => kept.has(key(path)) || kept.has(key(path).replace(/\.(rct|mrt)$/i, ''));
  const prune = async (dir: string): Promise<boolean> => {
    let empty = true;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (await prune(path)) await rm(path, { recursive: true, force: true });
        else empty = false;
      } else if (keeps(path)) {
        empty = false;
      } else {
        await rm(path, { force: true });
      }
    }
    return empty;
  };
  await prune(folder);
}
