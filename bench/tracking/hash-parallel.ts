/**
 * Throughput of the hash tracker's manifest building (hashImage) on a raw file, with 1 worker and with
 * one per core, to show the parallel hashing pays. The file is written with non-zero data (so every
 * block is read and hashed) and deleted afterwards.
 * Run: node dist/bench/tracking/hash-parallel.js [sizeMiB=128] [blockKiB=1024]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RawFileImage } from '../../src/host/raw-image.js';
import { hashImage } from '../../src/tracking/hash/hash-image.js';

const MiB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 128);
const blockSize = Number(process.argv[3] ?? 1024) * 1024;
const dir = mkdtempSync(join(tmpdir(), 'hvr-bench-hash-'));
try {
  const path = join(dir, 'disk.raw');
  const chunk = Buffer.alloc(MiB);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i);
  writeFileSync(path, Buffer.concat(Array.from({ length: sizeMiB }, () => chunk)));
  const rows = [];
  for (const parallelism of [1, availableParallelism()]) {
    const image = await RawFileImage.open(path);
    const start = performance.now();
    await hashImage(image, { blockSize, parallelism });
    const seconds = (performance.now() - start) / 1000;
    await image.close();
    rows.push({ parallelism, mibPerSecond: Math.round(sizeMiB / seconds) });
  }
  process.stdout.write(`${JSON.stringify({ sizeMiB, blockKiB: blockSize / 1024, cores: availableParallelism(), rows }, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
