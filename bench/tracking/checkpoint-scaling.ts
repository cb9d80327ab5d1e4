/**
 * Shows that the checkpoint tracker lists changes in time proportional to the changes, not to the disk:
 * the same changes are listed on a 4 GiB and on a 1 TiB sparse disk. Changes are 1 MiB writes, each half
 * of a 2 MiB differencing block, so the sector bitmaps are what the listing reads; they are either
 * clustered (every 2 MiB from the start) or spread evenly over the whole disk, which touches one more
 * 1 MiB sector-bitmap block per 4 GiB chunk (MS-VHDX: one bitmap block per chunk).
 *
 * Run: node dist/bench/tracking/checkpoint-scaling.js [workDir] [changesMiB,...]
 * Needs HVR_ADDON_PATH (or a built addon). Writes the changes for real; deletes everything afterwards.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CheckpointTracker } from '../../src/tracking/checkpoint/checkpoint-tracker.js';
import { createDisk, openDisk } from '../../src/vhdx/index.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

type Layout = 'clustered' | 'spread';

interface Row {
  disk: string;
  layout: Layout;
  changesMiB: number;
  extents: number;
  listedMiB: number;
  listMs: number;
  writeMs: number;
}

async function measure(dir: string, diskSize: number, changesMiB: number, layout: Layout): Promise<Row> {
  const base = join(dir, `base-${randomUUID()}.vhdx`);
  const layer = join(dir, `layer-${randomUUID()}.avhdx`);
  await createDisk(base, { type: 'dynamic', virtualSize: diskSize });
  await createDisk(layer, { type: 'differencing', parentPath: base });
  const data = Buffer.alloc(MiB, 0x5a);
  const stride = layout === 'clustered' ? 2 * MiB : Math.floor(diskSize / changesMiB / (2 * MiB)) * 2 * MiB;
  const writeStart = performance.now();
  const disk = await openDisk(layer, { writable: true });
  for (let i = 0; i < changesMiB; i++) await disk.write(i * stride, data);
  await disk.close();
  const writeMs = performance.now() - writeStart;
  const tracker = new CheckpointTracker({
    pointId: 'after',
    virtualSize: diskSize,
    logicalSectorSize: 512,
    layers: async () => [{ path: layer, since: 'before' }],
  });
  const samples: number[] = [];
  let extents = 0;
  let listed = 0;
  for (let run = 0; run < 3; run++) {
    extents = 0;
    listed = 0;
    const start = performance.now();
    for await (const extent of tracker.changesSince('before')) {
      extents++;
      listed += extent.length;
    }
    samples.push(performance.now() - start);
  }
  rmSync(base);
  rmSync(layer);
  samples.sort((a, b) => a - b);
  return { disk: diskSize >= TiB ? `${diskSize / TiB} TiB` : `${diskSize / GiB} GiB`, layout, changesMiB, extents, listedMiB: listed / MiB, listMs: Math.round(samples[1]! * 10) / 10, writeMs: Math.round(writeMs) };
}

const dir = process.argv[2] || mkdtempSync(join(tmpdir(), 'hvr-bench-ckpt-'));
const changes = (process.argv[3] ?? '64,256,1024').split(',').map(Number);
const rows: Row[] = [];
try {
  for (const c of changes) rows.push(await measure(dir, 4 * GiB, c, 'spread'));
  for (const c of changes) rows.push(await measure(dir, TiB, c, 'clustered'));
  for (const c of changes) rows.push(await measure(dir, TiB, c, 'spread'));
} finally {
  if (!process.argv[2]) rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify({ node: process.version, rows }, null, 2)}\n`);
