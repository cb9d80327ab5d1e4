/**
 * The checkpoint tracker through the contract suite: a real VHDX chain (4 GiB + 8 MiB dynamic base, so a
 * chunk boundary is inside) where every reference point freezes the current layer and adds a new one.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { CheckpointTracker, type CheckpointLayer } from '../../src/tracking/checkpoint/checkpoint-tracker.js';
import { createDisk, openDisk, type VhdxDisk } from '../../src/vhdx/index.js';
import { tempDir } from '../helpers/paths.js';
import { CONTRACT_DISK_SIZE, trackerContract, type TrackerHarness } from './contract.js';

const SECTOR = 512;

trackerContract('checkpoint', async (): Promise<TrackerHarness> => {
  const dir = tempDir('checkpoint-contract');
  const base = join(dir.path, 'disk.vhdx');
  await createDisk(base, { type: 'dynamic', virtualSize: CONTRACT_DISK_SIZE, blockSize: 2 * 1024 * 1024 });
  let top: VhdxDisk = await openDisk(base, { writable: true });
  // Layers created by points so far, bottom first; `since` is the point that created each.
  const layers: CheckpointLayer[] = [];

  // A guest writes whole sectors: an unaligned write becomes a read-modify-write of the sectors it touches.
  const writeSectors = async (offset: number, data: Buffer): Promise<void> => {
    const start = Math.floor(offset / SECTOR) * SECTOR;
    const end = Math.ceil((offset + data.length) / SECTOR) * SECTOR;
    if (start === offset && end === offset + data.length) return top.write(offset, data);
    const merged = await top.read(start, end - start);
    data.copy(merged, offset - start);
    await top.write(start, merged);
  };

  return {
    virtualSize: CONTRACT_DISK_SIZE,
    sectorSize: SECTOR,
    contentBased: false,
    write: writeSectors,
    zero: (offset, length) => top.zero(offset, length),
    trim: (offset, length) => top.trim(offset, length),
    referencePoint: async () => {
      const pointId = randomUUID();
      await top.close();
      const frozen = [...layers];
      const parent = layers.length ? layers[layers.length - 1]!.path : base;
      const path = join(dir.path, `disk_${pointId}.avhdx`);
      await createDisk(path, { type: 'differencing', parentPath: parent });
      layers.push({ path, since: pointId });
      top = await openDisk(path, { writable: true });
      return new CheckpointTracker({
        pointId,
        virtualSize: CONTRACT_DISK_SIZE,
        logicalSectorSize: SECTOR,
        layers: async () => frozen.filter((l) => layers.some((known) => known.path === l.path && known.since === l.since)),
      });
    },
    // A committed point's layer is merged away: nothing knows that id any more.
    invalidate: async (id) => {
      const layer = layers.find((l) => l.since === id);
      if (layer) layer.since = `committed-${id}`;
    },
    close: async () => {
      await top.close();
      dir.cleanup();
    },
  };
});
