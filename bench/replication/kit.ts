/**
 * What the replication benchmarks share (replication.ts, sustained.ts, resync.ts): the CLI run as a user
 * runs it, shell steps, page-cache warming, content hashes, the guest's first data, the union of a
 * workload journal, and the two paired hosts with a file-host VM replicating to `hvreplica server run`.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { hashDisk } from '../../src/demo/content-hash.js';
import { pairHosts, type Pairing } from '../../src/demo/pairing.js';
import { CLI_PATH, freePort, ServerProcess } from '../../src/demo/server-process.js';
import { vmLogId } from '../../src/engine/index.js';
import { FileHost } from '../../src/host/file/file-host.js';
import type { JournalEntry } from '../../src/host/file/workload.js';
import { openVhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { measure, type Measured } from './measure.js';

export const MiB = 1024 * 1024;

/** What every replication bench is told: the disk size, the seed of its data, where to work, and whether to keep it. */
export interface CommonOptions {
  diskMiB: number;
  seed: number;
  workDir: string;
  keep: boolean;
}

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses the command line of a bench: the common options (checked here) and the bench's own `extra` ones,
 * whose raw values come back for the bench to check.
 */
export function benchOptions<E extends OptionSpecs>(extra: E): { common: CommonOptions; values: Record<keyof E, string | boolean | undefined> } {
  const options: OptionSpecs = {
    'disk-mib': { type: 'string', default: '4096' },
    seed: { type: 'string', default: '1' },
    'work-dir': { type: 'string', default: tmpdir() },
    keep: { type: 'boolean', default: false },
    ...extra,
  };
  const usage = () =>
    `usage: node ${basename(process.argv[1] ?? 'bench.js')} [options] (bench/replication/README.md explains each)\n` +
    Object.entries(options)
      .map(([name, spec]) => `  --${name}${spec.type === 'string' ? '=VALUE' : ''}${spec.default === undefined ? '' : `  (default ${String(spec.default)})`}`)
      .join('\n');
  if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(`${usage()}\n`);
    process.exit(0);
  }
  let parsed: Record<string, string | boolean | undefined>;
  try {
    parsed = parseArgs({ options }).values as Record<string, string | boolean | undefined>;
  } catch (error) {
    // A mistyped option gets what is wrong and the options there are, not a stack trace.
    process.stderr.write(`${(error as Error).message}\n${usage()}\n`);
    process.exit(2);
  }
  const values = parsed;
  const common: CommonOptions = {
    diskMiB: Number(values['disk-mib']),
    seed: Number(values.seed),
    workDir: String(values['work-dir']),
    keep: values.keep === true,
  };
  // The smallest disk must hold at least one write of the workload's largest size (256 KiB).
  if (!Number.isInteger(common.diskMiB) || common.diskMiB < 8) throw new Error(`--disk-mib must be a whole number ≥ 8, got ${String(values['disk-mib'])}`);
  if (!Number.isSafeInteger(common.seed) || common.seed < 0) throw new Error(`--seed must be a non-negative integer, got ${String(values.seed)}`);
  return { common, values: values as Record<keyof E, string | boolean | undefined> };
}

/** The machine's load averages (1, 5, 15 min), rounded: every bench prints them at start and end. */
export const loadNow = (): number[] => loadavg().map((l) => Math.round(l * 100) / 100);
export const VM = 'bench-vm';
/** DESIGN §6: memory bounded by a window; a 1 TiB disk replicates in under 256 MiB. */
export const MEMORY_LIMIT_KIB = 256 * 1024;

export function check(run: Measured, what: string): Measured {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  return run;
}

/**
 * Extra options for node in every hvreplica process the benches start, from HVR_BENCH_NODE_ARGS
 * (whitespace-separated), e.g. `--cpu-prof --cpu-prof-dir=/var/tmp/prof` to profile the agent and the
 * server of a run (NODE_OPTIONS refuses --cpu-prof). Empty by default; a profiled run's times are not
 * comparable with a plain one's.
 */
export function benchNodeArgs(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.HVR_BENCH_NODE_ARGS ?? '').split(/\s+/).filter((a) => a.length > 0);
}

/** The CLI as a user runs it; --json so that the result can be read. */
export async function hvreplica(args: string[]): Promise<{ run: Measured; result: unknown }> {
  const run = check(await measure(process.execPath, [...benchNodeArgs(), CLI_PATH, ...args, '--json'], { ...process.env, HVR_LOG_LEVEL: 'warn' }), `hvreplica ${args[0]}`);
  return { run, result: (JSON.parse(run.stdout) as { result?: unknown }).result };
}

export async function sh(script: string, ...args: string[]): Promise<Measured> {
  return check(await measure('sh', ['-c', script, 'sh', ...args]), script);
}

/** Reads files once so that each timed reader finds them in the page cache (as the vhdx bench does). */
export async function warm(files: string[]): Promise<void> {
  await sh('cat "$@" > /dev/null', ...files);
}

/**
 * Drops the page cache's copy of files that are already durable (GNU dd's `nocache` with count=0 discards a
 * whole file's cached pages), so the next peer runs with as much free memory as the one before it had:
 * otherwise each copy a peer leaves cached makes the next one's writes reclaim memory first.
 */
export async function evict(files: string[]): Promise<void> {
  await sh('for f; do dd if="$f" iflag=nocache count=0 status=none; done', ...files);
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Bytes covered by the journal's writes, zero writes and trims, overlaps counted once: "the changed bytes". */
export function changedBytes(entries: JournalEntry[]): number {
  const byDisk = new Map<string, Array<[number, number]>>();
  for (const e of entries) {
    const list = byDisk.get(e.disk) ?? [];
    list.push([e.offset, e.offset + e.length]);
    byDisk.set(e.disk, list);
  }
  let total = 0;
  for (const list of byDisk.values()) {
    list.sort((a, b) => a[0] - b[0]);
    let [start, end] = list[0]!;
    for (const [s, e] of list.slice(1)) {
      if (s > end) {
        total += end - start;
        [start, end] = [s, e];
      } else {
        end = Math.max(end, e);
      }
    }
    total += end - start;
  }
  return total;
}

/**
 * The guest's first data: every byte of every disk written, sequentially, through the file host's
 * writer path (the workload command writes at random places and would leave parts unwritten). The
 * content is seeded and incompressible, and each 4 KiB differs, so neither compression nor a
 * repeated-block match flatters any tool.
 */
export async function fill(host: FileHost, seed: number): Promise<void> {
  const chunk = 16 * MiB;
  const pattern = Buffer.alloc(chunk);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i + 4 <= chunk; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    pattern.writeUInt32LE((x | 1) >>> 0, i);
  }
  await host.withWritableDisks(VM, async (disks) => {
    for (const [d, { disk }] of disks.entries()) {
      const size = disk.info.virtualSize;
      for (let offset = 0; offset < size; offset += chunk) {
        for (let i = 0; i < chunk; i += 4096) pattern.writeUInt32LE((d * size + offset + i) / 4096 + 1, i);
        await disk.write(offset, pattern.subarray(0, Math.min(chunk, size - offset)));
      }
    }
  });
}

/** What a command printed on stderr at log level warn: retries and other trouble a reader must know of. */
export function warnings(run: Pick<Measured, 'stderr'>): string[] {
  return run.stderr.split('\n').map((line) => line.trim()).filter((line) => line.length > 0).map((line) => line.slice(0, 300));
}

export const kib = (k: number): string => (k >= 1024 ? `${(k / 1024).toFixed(1)} MiB` : `${k} KiB`);
export const mib = (bytes: number): string => `${(bytes / MiB).toFixed(bytes < 10 * MiB ? 2 : 1)} MiB`;
export const pad = (s: string, n: number): string => s.padEnd(n);
export const lpad = (s: string, n: number): string => s.padStart(n);

export interface VmJson {
  id: string;
  disks: Array<{ id: string; basePath: string; currentPath: string; virtualSize: number }>;
}

export interface PairedVmOptions {
  /** The run's folder: primary/, replica/ and storage/ go under it. */
  root: string;
  disks: number;
  diskMiB: number;
  /** Seed of the fill; no fill (empty disks) when undefined. */
  fillSeed?: number;
  frequencySec: 30 | 300 | 900;
  say: (line: string) => void;
}

export interface PairedVm {
  primaryState: string;
  replicaState: string;
  storage: string;
  port: number;
  pairing: Pairing;
  vm: VmJson;
  host: FileHost;
  /** `hvreplica server run` on 127.0.0.1, started after the relationship was enabled. */
  server: ServerProcess;
}

/**
 * Two hosts paired as `hvreplica demo` pairs them (one CA, a certificate each, an authorization entry), a
 * file-host VM on the primary (`vm new`, `vm start`, optionally filled), its replication enabled with
 * certificate authentication, and the replica server running. The caller stops the server.
 */
export async function pairedVm(o: PairedVmOptions): Promise<PairedVm> {
  const primaryState = join(o.root, 'primary');
  const replicaState = join(o.root, 'replica');
  const storage = join(o.root, 'storage');
  const port = await freePort();
  const pairing = await pairHosts({ primaryStateDir: primaryState, replicaStateDir: replicaState, storageLocation: storage, port, primaryName: 'primary.bench.test', replicaName: 'replica.bench.test', trustGroup: 'bench' });
  const vm = (await hvreplica(['vm', 'new', `--name=${VM}`, ...Array.from({ length: o.disks }, () => `--disk=${o.diskMiB}MiB`), `--state-dir=${primaryState}`])).result as VmJson;
  await hvreplica(['vm', 'start', VM, `--state-dir=${primaryState}`]);
  const host = new FileHost({ root: join(primaryState, 'vms') });
  if (o.fillSeed !== undefined) {
    o.say(`filling ${o.disks} × ${o.diskMiB} MiB`);
    await fill(host, o.fillSeed);
  }
  await hvreplica(['replication', 'enable', `--vm-name=${VM}`, `--replica-server-name=${pairing.replicaServerName}`, `--replica-server-port=${port}`,
    '--authentication-type=Certificate', `--certificate-thumbprint=${pairing.primaryThumbprint}`, `--replication-frequency-sec=${o.frequencySec}`, `--state-dir=${primaryState}`]);
  const server = await ServerProcess.start({ stateDir: replicaState, env: { HVR_LOG_LEVEL: 'warn' }, nodeArgs: benchNodeArgs() });
  return { primaryState, replicaState, storage, port, pairing, vm, host, server };
}

/** The replica's folder of the VM on the replica server (its VHDX chain and records). */
export function replicaFolder(paired: Pick<PairedVm, 'storage' | 'vm'>): string {
  return join(paired.storage, 'hvreplica', vmLogId(paired.vm.id));
}

/** SHA-256 of each disk at the primary's point and at the replica's latest state; equal when both agree on the point. */
export async function compareContent(paired: Pick<PairedVm, 'storage' | 'vm' | 'host'>, point: string): Promise<{ equal: boolean; primarySha256: string[]; replicaSha256: string[] }> {
  const replica = await openVhdxReplicaStorage(replicaFolder(paired));
  const status = await replica.status();
  const primarySha256: string[] = [];
  const replicaSha256: string[] = [];
  for (const [i, disk] of paired.vm.disks.entries()) {
    primarySha256.push(await hashDisk(await paired.host.openDiskAt(paired.vm.id, point, disk.id), disk.virtualSize));
    replicaSha256.push(await hashDisk(await replica.openLatest(status.disks[i]!.diskId), disk.virtualSize));
  }
  return { equal: status.referencePoint === point && primarySha256.every((h, i) => h === replicaSha256[i]), primarySha256, replicaSha256 };
}

/** What a bench started that must not outlive it. */
export interface BenchRun {
  server?: ServerProcess;
  /** A long-running agent (agent-service.ts), killed if the bench ends without stopping it. */
  agent?: { kill(): void };
}

/**
 * Runs a bench in its folder `root`: a failure shows the replica server's log first; the server is stopped
 * and the folder removed (unless kept, `--keep`) however the bench ends.
 */
export async function inBenchFolder(root: string, keep: boolean, say: (line: string) => void, body: (run: BenchRun) => Promise<void>): Promise<void> {
  const run: BenchRun = {};
  try {
    await body(run);
  } catch (error) {
    if (run.server) say(`replica server log:\n${run.server.stderr}`);
    throw error;
  } finally {
    run.agent?.kill();
    await run.server?.kill();
    if (keep) say(`kept ${root}`);
    else await rm(root, { recursive: true, force: true });
  }
}

/** A bench's figures as the last line of stdout (one JSON object); the process fails when its proof did not hold. */
export function printReport(report: object, proved: boolean): void {
  process.stdout.write(`${JSON.stringify(report)}\n`);
  if (!proved) process.exitCode = 1;
}
