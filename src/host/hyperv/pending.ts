/**
 * Data at risk of one Hyper-V disk (HostAdapter.pendingBytes), read without taking a checkpoint: what RCT
 * lists since the committed reference point's id on the file that carries it, united with what every
 * differencing layer above that file holds — the .avhdx of a recovery checkpoint frozen by a running
 * cycle, or (configuration below 6.2) the layers of the standard checkpoints taken since the committed one.
 */
import { resolve, win32 } from 'node:path';
import { ResyncRequiredError, type TrackingId } from '../../tracking/change-tracker.js';
import { unionLength } from '../../tracking/extents.js';
import type { FakeVirtDisk } from '../../tracking/rct/fake-virtdisk.js';
import { RctTracker } from '../../tracking/rct/rct-tracker.js';
import { openDisk } from '../../vhdx/index.js';

export interface HyperVPendingQuery {
  /** The file the VM writes now. */
  livePath: string;
  /** The committed reference point's file of this disk. */
  basePath: string;
  /** 'rct' for recovery points; 'checkpoint' for standard checkpoints, whose id is the committed point's. */
  tracker: 'rct' | 'checkpoint';
  since: TrackingId;
  committedId: TrackingId;
  virtdisk?: FakeVirtDisk;
}

/** Hyper-V never stacks more layers than checkpoints a VM may have (50); deeper means a loop. */
const MAX_LAYERS = 64;

const samePath = (a: string, b: string): boolean =>
  (/^[a-z]:\\/i.test(a) ? win32.resolve(a).toLowerCase() : resolve(a)) === (/^[a-z]:\\/i.test(b) ? win32.resolve(b).toLowerCase() : resolve(b));

/** The layers from the live file down to (not including) `base`, top first. */
async function layersAbove(live: string, base: string): Promise<string[]> {
  const out: string[] = [];
  let path = live;
  while (!samePath(path, base)) {
    if (out.length >= MAX_LAYERS) break;
    out.push(path);
    const disk = await openDisk(path, { writable: false });
    const parent = disk.info.parentPath;
    await disk.close();
    if (parent === undefined) {
      throw new ResyncRequiredError(`'${live}' does not descend from the committed reference point's '${base}' any more; resynchronise the disk`, 'tracking-inconsistent');
    }
    path = parent;
  }
  if (!samePath(path, base)) throw new ResyncRequiredError(`more than ${MAX_LAYERS} layers above '${base}'; resynchronise the disk`, 'tracking-inconsistent');
  return out;
}

export async function hyperVPendingBytes(q: HyperVPendingQuery): Promise<number> {
  if (q.tracker === 'checkpoint' && q.since !== q.committedId) {
    throw new ResyncRequiredError(`'${q.since}' is not the committed reference point of '${q.basePath}'; resynchronise the disk`, 'unknown-id');
  }
  const ranges: Array<[number, number]> = [];
  if (q.tracker === 'rct') {
    const rct = await RctTracker.open({ path: q.basePath, ...(q.virtdisk ? { virtdisk: q.virtdisk } : {}) });
    try {
      for await (const e of rct.changesSince(q.since)) ranges.push([e.offset, e.offset + e.length]);
    } finally {
      await rct.close();
    }
  }
  for (const layer of await layersAbove(q.livePath, q.basePath)) {
    const disk = await openDisk(layer, { writable: false });
    try {
      for (const e of await disk.map({ layerOnly: true })) if (e.state !== 'absent') ranges.push([e.offset, e.offset + e.length]);
    } finally {
      await disk.close();
    }
  }
  return unionLength(ranges);
}
