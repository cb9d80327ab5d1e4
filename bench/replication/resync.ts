/**
 * Resynchronisation benchmark (issue 6, DESIGN §6): "resync of a 4 GiB disk with 1% differences: at most
 * 1.5× the time to read both copies once".
 *
 *   A filled file-host VM replicated to `hvreplica server run` (initial replication), then 1% of the disk
 *   changed by `hvreplica workload` (seeded; the changed bytes are the union of its journal). The resync
 *   compares every block by hash on both sides and never consults the change tracker, so how the
 *   differences arose does not matter to it; `hvreplica replication resume --resynchronize` sends what
 *   differs as the next cycle. The peer is `cat` of the primary's VHDX chain and the replica's VHDX files
 *   to /dev/null: reading both copies once.
 *
 * Page cache: every file both sides read is read once before each timed step (as replication.ts does for
 * its peers), so both the resync and cat read from memory and the ratio compares the work, not the disk.
 * At the end the replica must equal the primary at the resync's reference point (SHA-256 per disk).
 *
 * Run: node dist/bench/replication/resync.js [--disk-mib=4096] [--change-percent=1] [--seed=1]
 *        [--work-dir=os.tmpdir()] [--keep] [--cpu-prof=<dir>] [--cold-replica]
 * --cpu-prof runs the timed `resume` process under node --cpu-prof (NODE_OPTIONS refuses it) and leaves
 * its profiles in <dir>, main thread and hash workers apart; the profiler's cost is in that run's time.
 * The replica server keeps its hash manifest in the background once idle; the bench waits for it before the
 * resync (a resync days after the initial replication). --cold-replica drops it first: the replica then
 * hashes its whole disk during the resync, as it did before manifests were kept.
 * Prints a table, then one JSON line (the last line of stdout).
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { JournalEntry } from '../../src/host/file/workload.js';
import { configureLogging } from '../../src/logging/logger.js';
import { CLI_PATH } from '../../src/demo/server-process.js';
import { benchOptions, changedBytes, check, inBenchFolder, loadNow, printReport, type CommonOptions, compareContent, hvreplica, kib, lpad, MEMORY_LIMIT_KIB, mib, pad, pairedVm, replicaFolder, sh, VM, warm, warnings, type VmJson } from './kit.js';
import { measure, peakMethod, processCpuSec, resetPeak, vmHwmKiB } from './measure.js';
import { KEPT_MANIFEST_DIR } from '../../src/replica/kept-manifest.js';

configureLogging({ quietConsole: true });

/** DESIGN §6: resync at most 1.5× the time to read both copies once. */
const RESYNC_LIMIT = 1.5;

interface Options extends CommonOptions {
  changePercent: number;
  /** Where the timed resume process leaves its CPU profiles (none when undefined). */
  cpuProf: string | undefined;
  /** Drop the replica's kept manifest before the resync (it hashes its whole disk then). */
  coldReplica: boolean;
}

function options(): Options {
  const { common, values } = benchOptions({ 'change-percent': { type: 'string', default: '1' }, 'cpu-prof': { type: 'string' }, 'cold-replica': { type: 'boolean', default: false } });
  const cpuProf = values['cpu-prof'];
  const o: Options = { ...common, changePercent: Number(values['change-percent']), cpuProf: typeof cpuProf === 'string' ? cpuProf : undefined, coldReplica: values['cold-replica'] === true };
  if (!(o.changePercent > 0 && o.changePercent <= 50)) throw new Error(`--change-percent must be in (0, 50], got ${String(values['change-percent'])}`);
  return o;
}

/** Every VHDX file under a folder: the replica's copy of the disk, whatever its chain looks like now. */
async function vhdxFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && /\.a?vhdx$/i.test(e.name)).map((e) => join(e.parentPath, e.name)).sort();
}

interface ResyncJson {
  Resynchronization: { Kind: string; ReferencePoint: string; LogBytes: number; ChangedBytes: number; ComparedBytes?: number; LatencySec: number };
  ReplicationState: string;
}

/** `hvreplica <args>` as kit's hvreplica runs it, under node --cpu-prof (profiles in `dir`). */
async function profiled(args: string[], dir: string): Promise<Awaited<ReturnType<typeof hvreplica>>> {
  const run = check(await measure(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, CLI_PATH, ...args, '--json'], { ...process.env, HVR_LOG_LEVEL: 'warn' }), `hvreplica ${args[0]}`);
  return { run, result: (JSON.parse(run.stdout) as { result?: unknown }).result };
}

/** Seconds until the replica server has kept a hash manifest of the disk (fails after 10 minutes). */
async function keptManifestReady(folder: string): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < 600_000) {
    const names = await readdir(join(folder, KEPT_MANIFEST_DIR)).catch(() => [] as string[]);
    if (names.some((n) => n.endsWith('.hvrman'))) return (Date.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the replica server kept no hash manifest in ${join(folder, KEPT_MANIFEST_DIR)} within 10 minutes; see its log`);
}

async function main(): Promise<void> {
  const o = options();
  const load = { start: loadNow(), end: [] as number[] };
  const root = await mkdtemp(join(o.workDir, 'hvr-bench-resync-'));
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  await inBenchFolder(root, o.keep, say, async (run) => {
    const paired = await pairedVm({ root, disks: 1, diskMiB: o.diskMiB, fillSeed: o.seed, frequencySec: 300, say });
    const server = (run.server = paired.server);
    const state = `--state-dir=${paired.primaryState}`;
    const serverPid = server.child.pid!;
    say('initial replication');
    await hvreplica(['replicate', `--vm=${VM}`, state]);

    // A replica server keeps its manifest up to date in the background once it is idle (manifest-keeper.ts):
    // a resync days after the initial replication finds it ready. Waiting for it here is that situation.
    say('waiting for the replica to keep its hash manifest (background, once idle)');
    const keptAfterSec = await keptManifestReady(replicaFolder(paired));
    // --cold-replica: the replica hashes its whole disk during the resync, as before manifests were kept.
    if (o.coldReplica) await rm(join(replicaFolder(paired), KEPT_MANIFEST_DIR), { recursive: true, force: true });

    say(`changing ${o.changePercent}% of the disk`);
    const journal = join(root, 'journal.jsonl');
    const totalBytes = paired.vm.disks.reduce((sum, d) => sum + d.virtualSize, 0);
    await hvreplica(['workload', `--vm=${VM}`, `--seed=${o.seed + 1}`, `--bytes=${Math.round((totalBytes * o.changePercent) / 100)}`, `--journal=${journal}`, state]);
    const entries = (await readFile(journal, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as JournalEntry);
    const changed = changedBytes(entries);
    await sh('sync -f "$1"', root);

    // Both copies as they are now: the primary's chain (base and the layer written since the last point)
    // and the replica's VHDX files.
    const chain = ((await hvreplica(['vm', 'show', VM, state])).result as VmJson).disks;
    const primaryFiles = [...new Set(chain.flatMap((d) => [d.basePath, d.currentPath]))];
    const replicaFiles = await vhdxFiles(replicaFolder(paired));
    const both = [...primaryFiles, ...replicaFiles];

    const readBytes = (await Promise.all(both.map(async (f) => (await stat(f)).size))).reduce((a, b) => a + b, 0);
    say('reading both copies once (cat)');
    await warm(both);
    const cat = await sh('cat "$@" > /dev/null', ...both);

    say('hvreplica replication resume --resynchronize');
    await warm(both);
    const serverPeakPerPhase = resetPeak(serverPid);
    const serverCpuBefore = processCpuSec(serverPid) ?? 0;
    const resumeArgs = ['replication', 'resume', '--resynchronize', `--vm-name=${VM}`, state];
    const resync = o.cpuProf === undefined ? await hvreplica(resumeArgs) : await profiled(resumeArgs, o.cpuProf);
    const [row] = resync.result as ResyncJson[];
    const report = row!.Resynchronization;
    const serverKiB = vmHwmKiB(serverPid);
    const serverCpu = (processCpuSec(serverPid) ?? 0) - serverCpuBefore;
    // The resync's own CPU (GNU time): on 2 cores it and the server's bound the wall time from below, and it
    // moves less with other engineers' load than the wall time does.
    const resyncCpu = resync.run.cpuSec;

    say('verifying');
    const stopCode = await server.stop();
    if (stopCode !== 0) throw new Error(`the replica server stopped with exit code ${stopCode}:\n${server.stderr}`);
    const serverWarnings = warnings(server);
    const content = await compareContent(paired, report.ReferencePoint);
    load.end = loadNow();

    const ratios = { processOverCat: resync.run.sec / cat.sec, resyncOverCat: report.LatencySec / cat.sec };
    const targets = [
      { target: 'resync process time / cat of both copies', value: ratios.processOverCat, limit: `<= ${RESYNC_LIMIT}`, met: ratios.processOverCat <= RESYNC_LIMIT },
      { target: 'resync (in the process) / cat of both copies', value: ratios.resyncOverCat, limit: `<= ${RESYNC_LIMIT}`, met: ratios.resyncOverCat <= RESYNC_LIMIT },
      { target: 'resync sent at least the changed bytes', value: report.ChangedBytes / Math.max(1, changed), limit: '>= 1', met: report.ChangedBytes >= changed },
      { target: 'memory: resync process peak RSS (MiB)', value: resync.run.peakKiB / 1024, limit: '< 256', met: resync.run.peakKiB < MEMORY_LIMIT_KIB },
      { target: 'memory: server peak RSS (MiB)', value: serverKiB / 1024, limit: '< 256', met: serverKiB < MEMORY_LIMIT_KIB },
    ];
    const resyncWarnings = warnings(resync.run);
    const lines = [
      `hvreplica resync benchmark: 1 × ${o.diskMiB} MiB VHDX, ${o.changePercent}% changed (seed ${o.seed}); both copies read once before each timed step (page cache)`,
      `node ${process.version}, ${cpus().length} cores, load average ${load.start.join(' ')} at start, ${load.end.join(' ')} at end; peak memory by ${peakMethod()}`,
      '',
      `Changed by the workload: ${mib(changed)} (${((changed / totalBytes) * 100).toFixed(2)}% of ${mib(totalBytes)})`,
      `  ${pad('', 40)}    time  peak RSS`,
      `  ${pad(`cat of both copies (${mib(readBytes)}, ${both.length} files)`, 40)} ${lpad(cat.sec.toFixed(2), 7)} s  ${kib(cat.peakKiB)}`,
      `  ${pad('hvreplica replication resume --resync', 40)} ${lpad(resync.run.sec.toFixed(2), 7)} s  agent ${kib(resync.run.peakKiB)}, server ${kib(serverKiB)}`,
      `  (resync inside the process: ${report.LatencySec.toFixed(2)} s; compared ${mib(report.ComparedBytes ?? 0)}, ${mib(report.ChangedBytes)} differed, ${mib(report.LogBytes)} of log sent)`,
      `  (CPU during the resync: the resync process ${resyncCpu === undefined ? 'unknown (no GNU time)' : `${resyncCpu.toFixed(2)} s`}, the replica server ${serverCpu.toFixed(2)} s)`,
      `  (the replica's hash manifest was kept in the background ${keptAfterSec.toFixed(1)} s after the initial replication returned${o.coldReplica ? '; dropped before the resync (--cold-replica)' : ''})`,
      '',
      'Targets (DESIGN §6)                                       value      limit     met',
      ...targets.map((t) => `  ${pad(t.target, 54)} ${lpad(t.value.toFixed(2), 8)}   ${pad(t.limit, 8)}  ${t.met ? 'yes' : 'NO'}`),
      '',
      `Resync warnings: ${resyncWarnings.length === 0 ? 'none' : `${resyncWarnings.length}, first: ${resyncWarnings[0]}`}`,
      `Server warnings: ${serverWarnings.length === 0 ? 'none' : `${serverWarnings.length}, first: ${serverWarnings[0]}`}`,
      `Replica equals primary (SHA-256 at the resync's point): ${content.equal ? 'yes' : 'NO'}; state after: ${row!.ReplicationState}`,
    ];
    process.stdout.write(`${lines.map((line) => line.trimEnd()).join('\n')}\n`);
    const json = {
      bench: 'resync',
      node: process.version,
      cores: cpus().length,
      loadAverage: load,
      options: { diskMiB: o.diskMiB, changePercent: o.changePercent, seed: o.seed, coldReplica: o.coldReplica },
      changedBytes: changed,
      keptManifestAfterSec: keptAfterSec,
      serverCpuSec: serverCpu,
      cat: { sec: cat.sec, peakKiB: cat.peakKiB, bytes: readBytes, files: both.length },
      resync: { processSec: resync.run.sec, cpuSec: resyncCpu ?? null, latencySec: report.LatencySec, comparedBytes: report.ComparedBytes ?? 0, differingBytes: report.ChangedBytes, logBytes: report.LogBytes, agentPeakKiB: resync.run.peakKiB, serverPeakKiB: serverKiB, warnings: resyncWarnings },
      ratios,
      memory: { method: peakMethod(), serverPeakPerPhase },
      targets,
      serverWarnings,
      verified: { replicaEqualsPrimary: content.equal, stateAfter: row!.ReplicationState, primarySha256: content.primarySha256, replicaSha256: content.replicaSha256 },
    };
    printReport(json, content.equal);
  });
}

await main();
