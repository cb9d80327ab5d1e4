/**
 * VHDX engine benchmark, one run, ratios against its peers on the same data:
 *   1. sequential read of a dynamic VHDX (default 4 GiB, all blocks allocated) into one reused buffer,
 *      against `cat` of a raw file with the same content and `qemu-img convert` into qemu's null device (its /dev/null);
 *   2. random 64 KiB writes into a fresh dynamic VHDX (flushed at the end), against qemu-io doing the
 *      same writes.
 * Targets (issue 3): reads within 1.2× of cat, no slower than qemu-img.
 * Every file is read once before it is timed, so all three read from the page cache.
 *
 * Run: node dist/bench/vhdx/read-write.js [sizeGiB=4] [writes=2000] [workDir=os.tmpdir()]
 * Needs HVR_ADDON_PATH (or a built addon), qemu-img and qemu-io. Deletes its files afterwards.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createDisk, openDisk } from '../../src/vhdx/index.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function time(fn: () => void): number {
  const start = performance.now();
  fn();
  return (performance.now() - start) / 1000;
}

async function timeAsync(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

async function readAll(path: string): Promise<void> {
  const disk = await openDisk(path);
  const buffer = Buffer.allocUnsafe(16 * MiB);
  for (let offset = 0; offset < disk.info.virtualSize; offset += buffer.length) {
    await disk.read(offset, buffer.subarray(0, Math.min(buffer.length, disk.info.virtualSize - offset)));
  }
  await disk.close();
}

async function main(): Promise<void> {
  const sizeGiB = Number(process.argv[2] ?? 4);
  const writes = Number(process.argv[3] ?? 2000);
  const dir = mkdtempSync(join(process.argv[4] ?? tmpdir(), 'hvr-bench-vhdx-'));
  try {
    const size = sizeGiB * GiB;
    const raw = join(dir, 'disk.raw');
    const vhdx = join(dir, 'disk.vhdx');
    const fd = openSync(raw, 'w');
    const chunk = Buffer.alloc(16 * MiB);
    for (let offset = 0; offset < size; offset += chunk.length) {
      for (let i = 0; i < chunk.length; i += 4096) chunk.writeUInt32LE((offset + i) / 4096 + 1, i);
      writeSync(fd, chunk, 0, chunk.length, offset);
    }
    closeSync(fd);
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vhdx', '-o', 'subformat=dynamic', raw, vhdx]);

    // Warm the page cache for every reader alike.
    execFileSync('sh', ['-c', `cat "${raw}" "${vhdx}" > /dev/null`]);
    const cat = time(() => execFileSync('sh', ['-c', `cat "${raw}" > /dev/null`]));
    const qemu = time(() => execFileSync('qemu-img', ['convert', '-n', '-f', 'vhdx', '--target-image-opts', vhdx, `driver=null-co,size=${size},read-zeroes=on`]));
    const ours = await timeAsync(() => readAll(vhdx));
    const rate = (s: number) => `${(size / MiB / s).toFixed(0)} MiB/s`;
    console.log(`sequential read of ${sizeGiB} GiB: cat ${cat.toFixed(2)} s (${rate(cat)}), qemu-img ${qemu.toFixed(2)} s (${rate(qemu)}), hvreplica ${ours.toFixed(2)} s (${rate(ours)})`);
    console.log(`  ratio hvreplica/cat = ${(ours / cat).toFixed(2)} (target <= 1.2), hvreplica/qemu-img = ${(ours / qemu).toFixed(2)} (target <= 1.0)`);

    const wsize = 4 * GiB;
    const offsets: number[] = [];
    let seed = 12345;
    for (let i = 0; i < writes; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      offsets.push((seed % (wsize / (64 * 1024))) * 64 * 1024);
    }
    const qv = join(dir, 'q.vhdx');
    execFileSync('qemu-img', ['create', '-q', '-f', 'vhdx', qv, String(wsize)]);
    const args = offsets.flatMap((o, i) => ['-c', `write -P ${(i % 250) + 1} ${o} 64k`]);
    const qio = time(() => execFileSync('qemu-io', ['-f', 'vhdx', ...args, qv], { stdio: 'ignore', maxBuffer: 1 << 30 }));
    const hv = join(dir, 'h.vhdx');
    await createDisk(hv, { type: 'dynamic', virtualSize: wsize, blockSize: 8 * MiB });
    const data = Buffer.alloc(64 * 1024);
    const hvw = await timeAsync(async () => {
      const disk = await openDisk(hv, { writable: true });
      for (const [i, o] of offsets.entries()) {
        data.fill((i % 250) + 1);
        await disk.write(o, data);
      }
      await disk.close();
    });
    console.log(`${writes} random 64 KiB writes: qemu-io ${qio.toFixed(2)} s, hvreplica ${hvw.toFixed(2)} s, ratio hvreplica/qemu-io = ${(hvw / qio).toFixed(2)}`);
    const cmp = execFileSync('qemu-img', ['compare', '-f', 'vhdx', '-F', 'vhdx', qv, hv], { encoding: 'utf8' });
    console.log(`  both files hold the same content: ${cmp.trim()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
