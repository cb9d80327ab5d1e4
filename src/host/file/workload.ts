/**
 * A synthetic guest for file-host VMs: writes into the VM's current disk layers the way a guest's block
 * layer does (whole sectors, a size distribution, a hot spot, zero writes, trims), at a set rate, from a
 * seed so that a run can be reproduced, and optionally journals every write so tests can rebuild the
 * content at any instant. It keeps going while reference points are taken: each batch runs under the VM
 * lock against whatever layer is current at that moment (see file-host.ts).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { HostError } from '../host-error.js';
import type { FileHost } from './file-host.js';

const SECTOR = 512;

export interface WorkloadOptions {
  vm: string;
  /** Seed of every choice and of the data; default a random one (reported, so a run can be replayed). */
  seed?: number;
  /** Bytes per second; 0 or absent = as fast as the disk goes. */
  rate?: number;
  /** Write sizes, bytes, multiples of 512; drawn log-uniformly between them (guests issue many small writes). */
  minSize?: number;
  maxSize?: number;
  /** Part of each disk that is hot (0–1], and the share of writes that go there [0–1]. */
  hotFraction?: number;
  hotShare?: number;
  /** Shares of writes that write zeros, and that trim (UNMAP). */
  zeroShare?: number;
  trimShare?: number;
  /** Only these disks (ids); default all. */
  disks?: string[];
  /** Writes per lock hold: larger batches cost fewer open/close cycles, smaller ones let points in sooner. */
  batch?: number;
  /** Stop after this long (ms), this many writes, or this many bytes; or when `signal` aborts. */
  durationMs?: number;
  maxWrites?: number;
  maxBytes?: number;
  /** JSON lines, one per write, in the order they reached the disk. */
  journal?: string;
  signal?: AbortSignal;
}

export type WorkloadOp = 'write' | 'zero' | 'trim';

export interface JournalEntry {
  seq: number;
  disk: string;
  /** The layer file the write went into. */
  layer: string;
  op: WorkloadOp;
  offset: number;
  length: number;
  /** For 'write': workloadData(length, dataSeed) is what was written. */
  dataSeed?: number;
}

export interface WorkloadReport {
  vm: string;
  seed: number;
  writes: number;
  bytes: number;
  zeroWrites: number;
  trims: number;
  batches: number;
  /** Distinct layer files written, in the order first written (more than one per disk = points were taken). */
  layers: string[];
  durationMs: number;
  stoppedBecause: 'duration' | 'max-writes' | 'max-bytes' | 'aborted' | 'vm-stopped';
}

/** mulberry32: small, fast, good enough to spread writes; not for anything secret. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The bytes a 'write' entry wrote: never all zero, so data and zero writes stay distinguishable. */
export function workloadData(length: number, dataSeed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = dataSeed >>> 0 || 1;
  for (let i = 0; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE((x | 1) >>> 0, i);
  }
  return out;
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new HostError('ERR_INVALID_ARGUMENT', message);
}

interface Plan {
  seq: number;
  disk: string;
  op: WorkloadOp;
  offset: number;
  length: number;
  dataSeed: number;
}

export async function runWorkload(host: FileHost, options: WorkloadOptions): Promise<WorkloadReport> {
  const seed = options.seed ?? Math.floor(Math.random() * 0xffffffff);
  const minSize = options.minSize ?? 4096;
  const maxSize = options.maxSize ?? 256 * 1024;
  const hotFraction = options.hotFraction ?? 0.1;
  const hotShare = options.hotShare ?? 0.8;
  const zeroShare = options.zeroShare ?? 0.05;
  const trimShare = options.trimShare ?? 0.02;
  const batch = options.batch ?? 8;
  const rate = options.rate ?? 0;
  check(Number.isSafeInteger(seed) && seed >= 0, `seed must be a non-negative integer, got ${seed}`);
  check(minSize >= SECTOR && minSize % SECTOR === 0 && maxSize % SECTOR === 0 && maxSize >= minSize,
    `write sizes must be multiples of 512 with min ≤ max (got ${minSize}..${maxSize})`);
  check(hotFraction > 0 && hotFraction <= 1, `hot fraction must be in (0, 1], got ${hotFraction}`);
  check(hotShare >= 0 && hotShare <= 1, `hot share must be in [0, 1], got ${hotShare}`);
  check(zeroShare >= 0 && trimShare >= 0 && zeroShare + trimShare <= 1, 'zero and trim shares must be ≥ 0 and add up to at most 1');
  check(Number.isInteger(batch) && batch >= 1, `batch must be a positive integer, got ${batch}`);
  check(rate >= 0, `rate must be ≥ 0 bytes per second, got ${rate}`);

  const description = await host.getVm(options.vm);
  const disks = description.disks.filter((d) => !options.disks || options.disks.includes(d.id));
  for (const wanted of options.disks ?? []) {
    check(disks.some((d) => d.id === wanted), `VM '${description.name}' has no disk '${wanted}' (it has: ${description.disks.map((d) => d.id).join(', ')})`);
  }
  check(disks.length > 0, 'the workload needs at least one disk');
  for (const d of disks) check(d.virtualSize >= maxSize, `disk '${d.id}' (${d.virtualSize} bytes) is smaller than the largest write (${maxSize})`);

  const random = prng(seed);
  const hot = new Map(disks.map((d) => {
    const sectors = d.virtualSize / SECTOR;
    const hotSectors = Math.max(maxSize / SECTOR, Math.floor(sectors * hotFraction));
    return [d.id, { start: Math.floor(random() * (sectors - hotSectors + 1)), sectors: hotSectors }];
  }));
  const nextPlan = (seq: number): Plan => {
    const d = disks[Math.floor(random() * disks.length)]!;
    const sizeSectors = Math.round(Math.exp(Math.log(minSize) + random() * (Math.log(maxSize) - Math.log(minSize))) / SECTOR);
    const length = Math.min(maxSize, Math.max(minSize, sizeSectors * SECTOR));
    const region = random() < hotShare ? hot.get(d.id)! : { start: 0, sectors: d.virtualSize / SECTOR };
    const room = Math.max(1, region.sectors - length / SECTOR + 1);
    const offset = Math.min(d.virtualSize - length, (region.start + Math.floor(random() * room)) * SECTOR);
    const pick = random();
    const op: WorkloadOp = pick < zeroShare ? 'zero' : pick < zeroShare + trimShare ? 'trim' : 'write';
    return { seq, disk: d.id, op, offset, length, dataSeed: (Math.floor(random() * 0xffffffff) ^ seq) >>> 0 };
  };

  const journal: FileHandle | undefined = options.journal ? await open(options.journal, 'a') : undefined;
  const report: WorkloadReport = { vm: description.name, seed, writes: 0, bytes: 0, zeroWrites: 0, trims: 0, batches: 0, layers: [], durationMs: 0, stoppedBecause: 'aborted' };
  const started = Date.now();
  let seq = 0;
  try {
    for (;;) {
      if (options.signal?.aborted) break;
      if (options.durationMs !== undefined && Date.now() - started >= options.durationMs) {
        report.stoppedBecause = 'duration';
        break;
      }
      if (options.maxWrites !== undefined && report.writes >= options.maxWrites) {
        report.stoppedBecause = 'max-writes';
        break;
      }
      if (options.maxBytes !== undefined && report.bytes >= options.maxBytes) {
        report.stoppedBecause = 'max-bytes';
        break;
      }
      const count = options.maxWrites !== undefined ? Math.min(batch, options.maxWrites - report.writes) : batch;
      const plans = Array.from({ length: count }, () => nextPlan(seq++));
      let entries: JournalEntry[];
      try {
        entries = await host.withWritableDisks(options.vm, async (open) => {
          const done: JournalEntry[] = [];
          for (const plan of plans) {
            const target = open.find((o) => o.diskId === plan.disk)!;
            if (plan.op === 'write') await target.disk.write(plan.offset, workloadData(plan.length, plan.dataSeed));
            else if (plan.op === 'zero') await target.disk.write(plan.offset, Buffer.alloc(plan.length));
            else await target.disk.trim(plan.offset, plan.length);
            const entry: JournalEntry = { seq: plan.seq, disk: plan.disk, layer: target.file, op: plan.op, offset: plan.offset, length: plan.length };
            if (plan.op === 'write') entry.dataSeed = plan.dataSeed;
            done.push(entry);
          }
          // Journal inside the lock, so its order is the order the writes reached the layers.
          if (journal) await journal.appendFile(done.map((e) => `${JSON.stringify(e)}\n`).join(''));
          return done;
        });
      } catch (error) {
        if (error instanceof HostError && error.code === 'ERR_INVALID_STATE') {
          report.stoppedBecause = 'vm-stopped';
          break;
        }
        throw error;
      }
      report.batches += 1;
      for (const e of entries) {
        report.writes += 1;
        report.bytes += e.length;
        if (e.op === 'zero') report.zeroWrites += 1;
        if (e.op === 'trim') report.trims += 1;
        if (!report.layers.includes(e.layer)) report.layers.push(e.layer);
      }
      if (rate > 0) {
        const due = (report.bytes / rate) * 1000 - (Date.now() - started);
        if (due > 0) await sleep(due, undefined, options.signal ? { signal: options.signal } : {}).catch(() => undefined);
      } else {
        // Yield between batches so reference points queued on the lock in this process get their turn.
        await sleep(0);
      }
    }
  } finally {
    await journal?.close();
  }
  report.durationMs = Date.now() - started;
  return report;
}
