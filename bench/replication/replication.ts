/**
 * Replication benchmark (issue 6), one run, hvreplica and its peers on the same data (DESIGN §6):
 *
 *   initial  a file-host VM whose VHDX disks are full of data, replicated by `hvreplica replicate` to
 *            `hvreplica server run` over loopback TLS 1.3 with mutual certificates, against `cp` of the
 *            same VHDX files and `rsync` of them to an rsync daemon on loopback;
 *   delta    per round, `hvreplica workload` changes ~1% of the disks (seeded), one `hvreplica replicate`
 *            cycle (checkpoint tracker), against `cp` of a file holding just the changed bytes and
 *            `rsync --inplace --no-whole-file` of the changed VHDX files to the daemon's copy of them;
 *            then the agent service: one `hvreplica agent run` started once, and per round the same
 *            workload, the cycle fired by the agent's own 30 s schedule (agent-service.ts), its first
 *            cycle after start reported apart (it compiles cold code as each one-shot process does);
 *   memory   peak RSS of the agent (`hvreplica replicate`), the replica server and the peers.
 *
 * Every writer ends durable, as the replica server's own writes are: cp is followed by `sync FILE` and
 * rsync runs with --fsync. Every source is read once before it is timed, so all read from the page cache.
 * Each peer's durable copy of the initial replication is then dropped from the page cache, so each
 * of the three starts with the same free memory (none has to reclaim what the one before it left cached).
 * At the end the replica's latest state must equal the primary at the last reference point (SHA-256 of
 * each disk's content) and the rsync copy must equal the primary's VHDX files byte for byte.
 *
 * Run: node dist/bench/replication/replication.js [--disk-mib=4096] [--disks=1] [--change-percent=1]
 *        [--rounds=3] [--agent-rounds=ROUNDS] [--seed=1] [--work-dir=os.tmpdir()] [--keep]
 * The agent rounds wait for the agent's schedule: up to 30 s each, one more for its first cycle.
 * Needs an addon (HVR_ADDON_PATH or a built one), cp, sync, rsync; GNU time for exact peak memory
 * (else /proc polling). Prints a table, then one JSON line (the last line of stdout).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import { freePort } from '../../src/demo/server-process.js';
import type { JournalEntry } from '../../src/host/file/workload.js';
import { configureLogging } from '../../src/logging/logger.js';
import { AgentService, type AgentCycle } from './agent-service.js';
import { benchNodeArgs, benchOptions, changedBytes, inBenchFolder, loadNow, printReport, type CommonOptions, check, compareContent, evict, hvreplica, kib, lpad, median, MEMORY_LIMIT_KIB, MiB, mib, pad, pairedVm, sh, sha256File, VM, warm, warnings, type VmJson } from './kit.js';
import { Daemon, measure, peakMethod, processCpuSec, resetPeak, vmHwmKiB, type Measured } from './measure.js';

configureLogging({ quietConsole: true });

/** The relationship's replication frequency: the agent service's cycles come this far apart. */
const FREQUENCY_SEC = 30;

interface Options extends CommonOptions {
  disks: number;
  changePercent: number;
  rounds: number;
  agentRounds: number;
}

function options(): Options {
  const { common, values } = benchOptions({
    disks: { type: 'string', default: '1' },
    'change-percent': { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    'agent-rounds': { type: 'string' },
  });
  const o: Options = {
    ...common,
    disks: Number(values.disks),
    changePercent: Number(values['change-percent']),
    rounds: Number(values.rounds),
    agentRounds: values['agent-rounds'] === undefined ? Number(values.rounds) : Number(values['agent-rounds']),
  };
  if (!Number.isInteger(o.disks) || o.disks < 1) throw new Error(`--disks must be a positive whole number, got ${String(values.disks)}`);
  if (!(o.changePercent > 0 && o.changePercent <= 50)) throw new Error(`--change-percent must be in (0, 50], got ${String(values['change-percent'])}`);
  if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new Error(`--rounds must be a positive whole number, got ${String(values.rounds)}`);
  if (!Number.isInteger(o.agentRounds) || o.agentRounds < 1) throw new Error(`--agent-rounds must be a positive whole number, got ${String(values['agent-rounds'])}`);
  return o;
}

interface RsyncStats {
  /** Total bytes sent + received by the client: the rsync protocol stream both ways. */
  wireBytes: number;
  literalBytes: number;
  matchedBytes: number;
}

function rsyncStats(stdout: string): RsyncStats {
  const figure = (label: string): number => {
    const match = new RegExp(`^${label}: ([\\d,]+)`, 'm').exec(stdout);
    if (!match) throw new Error(`rsync --stats printed no "${label}":\n${stdout}`);
    return Number(match[1]!.replace(/,/g, ''));
  };
  return {
    wireBytes: figure('Total bytes sent') + figure('Total bytes received'),
    literalBytes: figure('Literal data'),
    matchedBytes: figure('Matched data'),
  };
}

/** An rsync daemon on 127.0.0.1 serving one writable module, started fresh per phase so its peak is that phase's. */
class RsyncDaemon {
  private constructor(
    readonly port: number,
    private readonly daemon: Daemon,
    private readonly pidFile: string,
  ) {}

  static async start(dir: string, modulePath: string): Promise<RsyncDaemon> {
    const port = await freePort();
    const pidFile = join(dir, 'rsyncd.pid');
    await rm(pidFile, { force: true });
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    const conf = join(dir, 'rsyncd.conf');
    // Run as ourselves (root would drop to "nobody" otherwise) and without chroot (that needs root).
    await writeFile(conf, [`pid file = ${pidFile}`, 'use chroot = no', `uid = ${uid}`, `gid = ${gid}`, `log file = ${join(dir, 'rsyncd.log')}`,
      '[bench]', `  path = ${modulePath}`, '  read only = false', ''].join('\n'));
    const daemon = await Daemon.start('rsync', ['--daemon', '--no-detach', `--config=${conf}`, '--address=127.0.0.1', `--port=${port}`]);
    for (let i = 0; i < 100; i++) {
      const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
      if (pid > 0) return new RsyncDaemon(port, daemon, pidFile);
      if (daemon.exited) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('the rsync daemon did not start');
  }

  /** --inplace --no-whole-file forces the delta algorithm (local transfers default to whole files). */
  async push(files: string[]): Promise<{ run: Measured; stats: RsyncStats }> {
    const run = check(await measure('rsync', ['--inplace', '--no-whole-file', '--fsync', '--stats', '--no-human-readable', ...files, `rsync://127.0.0.1:${this.port}/bench/`]), 'rsync');
    return { run, stats: rsyncStats(run.stdout) };
  }

  async stop(): Promise<number> {
    const pid = Number((await readFile(this.pidFile, 'utf8')).trim());
    return (await this.daemon.stop(pid)).peakKiB;
  }
}

interface CycleJson {
  Kind: 'initial' | 'delta';
  Sequence: number;
  ReferencePoint: string;
  LogBytes: number;
  ChangedBytes: number;
  LatencySec: number;
}

interface Target {
  target: string;
  value: number;
  limit: string;
  met: boolean;
}

async function main(): Promise<void> {
  const o = options();
  const load = { start: loadNow(), end: [] as number[] };
  const root = await mkdtemp(join(o.workDir, 'hvr-bench-repl-'));
  const cpDir = join(root, 'peer-cp');
  const rsyncDir = join(root, 'peer-rsync');
  const scratch = join(root, 'scratch');
  for (const dir of [cpDir, rsyncDir, scratch]) await mkdir(dir, { recursive: true });
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  await inBenchFolder(root, o.keep, say, async (run) => {
    // --- the two hosts, as the demo pairs them: one CA, a certificate each, an authorization entry
    const paired = await pairedVm({ root, disks: o.disks, diskMiB: o.diskMiB, fillSeed: o.seed, frequencySec: FREQUENCY_SEC, say });
    const { primaryState, vm } = paired;
    const server = (run.server = paired.server);
    const serverPid = server.child.pid!;
    const diskFiles = vm.disks.map((d) => d.basePath);
    const totalBytes = vm.disks.reduce((sum, d) => sum + d.virtualSize, 0);
    await sh('sync -f "$1"', root); // the fill's write-back must not land in anyone's timing

    // --- initial replication: the same VHDX files three ways
    say('initial: cp');
    await warm(diskFiles);
    const cpInitial = await sh('d=$1; shift; cp "$@" "$d"/ && sync "$d"/*', cpDir, ...diskFiles);
    await evict(diskFiles.map((f) => join(cpDir, basename(f))));
    say('initial: rsync');
    await warm(diskFiles);
    let daemon = await RsyncDaemon.start(scratch, rsyncDir);
    const rsyncInitial = await daemon.push(diskFiles);
    const rsyncInitialDaemonKiB = await daemon.stop();
    await evict(diskFiles.map((f) => join(rsyncDir, basename(f))));
    say('initial: hvreplica');
    await warm(diskFiles);
    const serverPeakPerPhase = resetPeak(serverPid);
    const serverCpuBefore = processCpuSec(serverPid);
    const initial = await hvreplica(['replicate', `--vm=${VM}`, `--state-dir=${primaryState}`]);
    const serverCpuAfter = processCpuSec(serverPid);
    // CPU seconds of each process for the initial copy: the work done, less bent by a loaded machine than the wall time.
    const initialCpu = { agentCpuSec: initial.run.cpuSec ?? null, serverCpuSec: serverCpuBefore === undefined || serverCpuAfter === undefined ? null : serverCpuAfter - serverCpuBefore };
    const initialCycle = initial.result as CycleJson;
    const serverInitialKiB = vmHwmKiB(serverPid);
    if (initialCycle.Kind !== 'initial') throw new Error(`the first cycle was ${initialCycle.Kind}, not initial`);

    // --- delta rounds: the same workload seen by all three
    interface Round {
      changedBytes: number;
      cpSec: number;
      cpPeakKiB: number;
      rsyncSec: number;
      rsyncPeakKiB: number;
      rsyncDaemonPeakKiB: number;
      rsyncWireBytes: number;
      rsyncLiteralBytes: number;
      hvrProcessSec: number;
      hvrCycleSec: number;
      hvrAgentPeakKiB: number;
      hvrServerPeakKiB: number;
      hvrLogBytes: number;
      hvrChangedBytes: number;
      hvrWarnings: string[];
    }
    const rounds: Round[] = [];
    let lastPoint = initialCycle.ReferencePoint;
    for (let r = 0; r < o.rounds; r++) {
      say(`delta round ${r + 1}/${o.rounds}: workload`);
      const journal = join(scratch, `journal-${r}.jsonl`);
      await hvreplica(['workload', `--vm=${VM}`, `--seed=${o.seed + 1 + r}`, `--bytes=${Math.round((totalBytes * o.changePercent) / 100)}`, `--journal=${journal}`, `--state-dir=${primaryState}`]);
      const entries = (await readFile(journal, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as JournalEntry);
      const changed = changedBytes(entries);
      await sh('sync -f "$1"', root);

      say(`delta round ${r + 1}/${o.rounds}: hvreplica`);
      const current = ((await hvreplica(['vm', 'show', VM, `--state-dir=${primaryState}`])).result as VmJson).disks.map((d) => d.currentPath);
      await warm([...diskFiles, ...current]);
      resetPeak(serverPid);
      const delta = await hvreplica(['replicate', `--vm=${VM}`, `--state-dir=${primaryState}`]);
      const cycle = delta.result as CycleJson;
      if (cycle.Kind !== 'delta') throw new Error(`round ${r + 1} ran a ${cycle.Kind} cycle, not a delta`);
      lastPoint = cycle.ReferencePoint;
      const serverKiB = vmHwmKiB(serverPid);

      // The peer of "copying just the changed bytes": cp of a file of exactly that many bytes.
      say(`delta round ${r + 1}/${o.rounds}: cp of the changed bytes`);
      const changedFile = join(scratch, 'changed.bin');
      await writeFile(changedFile, randomBytes(changed));
      await warm([changedFile]);
      const cp = await sh('cp "$1" "$2" && sync "$2"', changedFile, join(cpDir, 'changed.bin'));
      await rm(changedFile);

      // rsync of the changed disk files: after the cycle the primary's base VHDX holds the new state
      // (the frozen layer was merged down), and the daemon's copy holds the previous one.
      say(`delta round ${r + 1}/${o.rounds}: rsync`);
      await sh('sync -f "$1"', root);
      await warm([...diskFiles, ...diskFiles.map((f) => join(rsyncDir, basename(f)))]);
      daemon = await RsyncDaemon.start(scratch, rsyncDir);
      const rsync = await daemon.push(diskFiles);
      const rsyncDaemonKiB = await daemon.stop();

      rounds.push({
        changedBytes: changed,
        cpSec: cp.sec,
        cpPeakKiB: cp.peakKiB,
        rsyncSec: rsync.run.sec,
        rsyncPeakKiB: rsync.run.peakKiB,
        rsyncDaemonPeakKiB: rsyncDaemonKiB,
        rsyncWireBytes: rsync.stats.wireBytes,
        rsyncLiteralBytes: rsync.stats.literalBytes,
        hvrProcessSec: delta.run.sec,
        hvrCycleSec: cycle.LatencySec,
        hvrAgentPeakKiB: delta.run.peakKiB,
        hvrServerPeakKiB: serverKiB,
        hvrLogBytes: cycle.LogBytes,
        hvrChangedBytes: cycle.ChangedBytes,
        hvrWarnings: warnings(delta.run),
      });
    }

    // The rsync copy against the primary's files now: the agent service's rounds below change them again.
    say('verifying the rsync copy');
    let rsyncEqual = true;
    for (const file of diskFiles) rsyncEqual &&= (await sha256File(file)) === (await sha256File(join(rsyncDir, basename(file))));

    // --- the agent service: the same delta rounds (new seeds, the same size), each cycle fired by the schedule of
    // one warm `hvreplica agent run`, as an installed service runs them (DESIGN §3). The first cycle after its
    // start is reported apart: it pays the compile of cold code as every one-shot `replicate` does.
    interface AgentRound {
      changedBytes: number;
      cycle: AgentCycle;
    }
    const agentRounds: AgentRound[] = [];
    say(`agent service: starting hvreplica agent run (cycles every ${FREQUENCY_SEC} s)`);
    const agent = (run.agent = await AgentService.start(primaryState, benchNodeArgs()));
    for (let r = 0; r <= o.agentRounds; r++) {
      const label = r === 0 ? 'first cycle' : `round ${r}/${o.agentRounds}`;
      say(`agent service, ${label}: workload`);
      const journal = join(scratch, `agent-journal-${r}.jsonl`);
      await hvreplica(['workload', `--vm=${VM}`, `--seed=${o.seed + 1 + o.rounds + r}`, `--bytes=${Math.round((totalBytes * o.changePercent) / 100)}`, `--journal=${journal}`, `--state-dir=${primaryState}`]);
      const entries = (await readFile(journal, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as JournalEntry);
      await sh('sync -f "$1"', root);
      const current = ((await hvreplica(['vm', 'show', VM, `--state-dir=${primaryState}`])).result as VmJson).disks.map((d) => d.currentPath);
      await warm([...diskFiles, ...current]);
      say(`agent service, ${label}: waiting for the agent's scheduled cycle`);
      // A tick comes every FREQUENCY_SEC from the agent's start, whatever the cycles take: at most one interval away.
      const cycle = await agent.nextCycle((FREQUENCY_SEC + 60) * 1000);
      if (cycle.kind !== 'delta') throw new Error(`the agent ran a ${cycle.kind} cycle, not a delta`);
      lastPoint = cycle.referencePoint;
      agentRounds.push({ changedBytes: changedBytes(entries), cycle });
    }
    const agentPeakKiB = agent.peakKiB();
    const agentStopCode = await agent.stop();
    if (agentStopCode !== 0) throw new Error(`agent run stopped with exit code ${agentStopCode}:\n${agent.stderr}`);
    const agentWarnings = warnings({ stderr: agent.stderr.split('\n').filter((line) => /"level":"(warn|error)"/.test(line)).join('\n') });
    const [agentFirst, ...agentWarm] = agentRounds;

    // --- proof that every tool did the whole job
    say('verifying');
    const stopCode = await server.stop();
    if (stopCode !== 0) throw new Error(`the replica server stopped with exit code ${stopCode}:\n${server.stderr}`);
    const serverWarnings = server.stderr.split('\n').map((line) => line.trim()).filter((line) => line.length > 0).map((line) => line.slice(0, 300));
    const content = await compareContent(paired, lastPoint);
    const replicaEqual = content.equal;
    const { primarySha256: primaryHashes, replicaSha256: replicaHashes } = content;
    load.end = loadNow();

    // --- figures
    const hvrInitialSec = initial.run.sec;
    const initialWarnings = warnings(initial.run);
    const allWarnings = [...initialWarnings, ...rounds.flatMap((r) => r.hvrWarnings)];
    const med = (pick: (r: Round) => number): number => median(rounds.map(pick));
    const sum = (pick: (r: Round) => number): number => rounds.reduce((s, r) => s + pick(r), 0);
    const d = {
      changedBytes: med((r) => r.changedBytes),
      cpSec: med((r) => r.cpSec),
      rsyncSec: med((r) => r.rsyncSec),
      hvrProcessSec: med((r) => r.hvrProcessSec),
      hvrCycleSec: med((r) => r.hvrCycleSec),
      rsyncWireBytes: sum((r) => r.rsyncWireBytes),
      hvrLogBytes: sum((r) => r.hvrLogBytes),
    };
    const agentMed = (pick: (r: AgentRound) => number): number => median(agentWarm.map(pick));
    const agentCpu = agentWarm.map((r) => r.cycle.agentCpuSec).filter((c): c is number => c !== null);
    const agentService = {
      changedBytes: agentMed((r) => r.changedBytes),
      tickSec: agentMed((r) => r.cycle.tickSec),
      latencySec: agentMed((r) => r.cycle.latencySec),
      agentCpuSec: agentCpu.length === 0 ? null : median(agentCpu),
      logBytes: agentWarm.reduce((total, r) => total + r.cycle.logBytes, 0),
      first: { tickSec: agentFirst!.cycle.tickSec, latencySec: agentFirst!.cycle.latencySec, agentCpuSec: agentFirst!.cycle.agentCpuSec },
      peakKiB: agentPeakKiB,
      warnings: agentWarnings,
    };
    const ratios = {
      initialHvrOverCp: hvrInitialSec / cpInitial.sec,
      initialHvrOverRsync: hvrInitialSec / rsyncInitial.run.sec,
      deltaCycleOverCpChanged: d.hvrCycleSec / d.cpSec,
      deltaProcessOverCpChanged: d.hvrProcessSec / d.cpSec,
      deltaRsyncOverCycle: d.rsyncSec / d.hvrCycleSec,
      deltaRsyncOverProcess: d.rsyncSec / d.hvrProcessSec,
      deltaWireHvrOverRsync: d.hvrLogBytes / d.rsyncWireBytes,
      deltaAgentCycleOverCpChanged: agentService.tickSec / d.cpSec,
      deltaRsyncOverAgentCycle: d.rsyncSec / agentService.tickSec,
    };
    const memory = {
      method: peakMethod(),
      serverPeakPerPhase,
      cpInitialKiB: cpInitial.peakKiB,
      rsyncInitialClientKiB: rsyncInitial.run.peakKiB,
      rsyncInitialDaemonKiB,
      hvrInitialAgentKiB: initial.run.peakKiB,
      hvrInitialServerKiB: serverInitialKiB,
      cpDeltaKiB: Math.max(...rounds.map((r) => r.cpPeakKiB)),
      rsyncDeltaClientKiB: Math.max(...rounds.map((r) => r.rsyncPeakKiB)),
      rsyncDeltaDaemonKiB: Math.max(...rounds.map((r) => r.rsyncDaemonPeakKiB)),
      hvrDeltaAgentKiB: Math.max(...rounds.map((r) => r.hvrAgentPeakKiB)),
      hvrDeltaServerKiB: Math.max(...rounds.map((r) => r.hvrServerPeakKiB)),
    };
    const agentPeak = Math.max(memory.hvrInitialAgentKiB, memory.hvrDeltaAgentKiB, agentService.peakKiB);
    const serverPeak = Math.max(memory.hvrInitialServerKiB, memory.hvrDeltaServerKiB);
    const targets: Target[] = [
      { target: 'initial: hvreplica time / cp time', value: ratios.initialHvrOverCp, limit: '<= 1.25', met: ratios.initialHvrOverCp <= 1.25 },
      { target: 'initial: hvreplica time / rsync time', value: ratios.initialHvrOverRsync, limit: '< 1', met: ratios.initialHvrOverRsync < 1 },
      { target: 'delta: cycle time / cp of changed bytes', value: ratios.deltaCycleOverCpChanged, limit: '<= 2', met: ratios.deltaCycleOverCpChanged <= 2 },
      { target: 'delta: replicate process time / cp of changed bytes', value: ratios.deltaProcessOverCpChanged, limit: '<= 2', met: ratios.deltaProcessOverCpChanged <= 2 },
      { target: 'delta: rsync time / cycle time', value: ratios.deltaRsyncOverCycle, limit: '>= 10', met: ratios.deltaRsyncOverCycle >= 10 },
      { target: 'delta: rsync time / replicate process time', value: ratios.deltaRsyncOverProcess, limit: '>= 10', met: ratios.deltaRsyncOverProcess >= 10 },
      { target: 'delta: agent service cycle / cp of changed bytes', value: ratios.deltaAgentCycleOverCpChanged, limit: '<= 2', met: ratios.deltaAgentCycleOverCpChanged <= 2 },
      { target: 'delta: rsync time / agent service cycle', value: ratios.deltaRsyncOverAgentCycle, limit: '>= 10', met: ratios.deltaRsyncOverAgentCycle >= 10 },
      { target: 'delta: hvreplica wire bytes / rsync wire bytes', value: ratios.deltaWireHvrOverRsync, limit: '< 1', met: ratios.deltaWireHvrOverRsync < 1 },
      { target: 'memory: agent peak RSS (MiB)', value: agentPeak / 1024, limit: '< 256', met: agentPeak < MEMORY_LIMIT_KIB },
      { target: 'memory: server peak RSS (MiB)', value: serverPeak / 1024, limit: '< 256', met: serverPeak < MEMORY_LIMIT_KIB },
    ];

    const rate = (sec: number): string => `${(totalBytes / MiB / sec).toFixed(0)} MiB/s`;
    const lines = [
      `hvreplica replication benchmark: ${o.disks} × ${o.diskMiB} MiB VHDX, ${o.rounds} delta round(s) of ${o.changePercent}% changes, seed ${o.seed}`,
      `node ${process.version}, ${cpus().length} cores, load average ${load.start.join(' ')} at start, ${load.end.join(' ')} at end; peak memory by ${memory.method}`,
      '',
      `Initial replication of ${pad(mib(totalBytes), 11)}     time        rate  peak RSS                             bytes sent`,
      `  ${pad('cp + sync', 32)} ${lpad(cpInitial.sec.toFixed(2), 7)} s  ${lpad(rate(cpInitial.sec), 10)}  ${pad(kib(cpInitial.peakKiB), 36)} ${mib(totalBytes)} (local)`,
      `  ${pad('rsync → daemon on 127.0.0.1', 32)} ${lpad(rsyncInitial.run.sec.toFixed(2), 7)} s  ${lpad(rate(rsyncInitial.run.sec), 10)}  ${pad(`client ${kib(rsyncInitial.run.peakKiB)}, daemon ${kib(rsyncInitialDaemonKiB)}`, 36)} ${mib(rsyncInitial.stats.wireBytes)}`,
      `  ${pad('hvreplica replicate (TLS 1.3)', 32)} ${lpad(hvrInitialSec.toFixed(2), 7)} s  ${lpad(rate(hvrInitialSec), 10)}  ${pad(`agent ${kib(initial.run.peakKiB)}, server ${kib(serverInitialKiB)}`, 36)} ${mib(initialCycle.LogBytes)} of log`,
      `  (cycle inside the process: ${initialCycle.LatencySec.toFixed(2)} s)`,
      '',
      `Delta, median of ${o.rounds} round(s); ${mib(d.changedBytes)} changed per round (${((d.changedBytes / totalBytes) * 100).toFixed(2)}%), hvreplica listed ${mib(med((r) => r.hvrChangedBytes))}`,
      `  ${pad('', 32)}    time  peak RSS                             bytes sent (all rounds)`,
      `  ${pad('cp + sync of the changed bytes', 32)} ${lpad(d.cpSec.toFixed(3), 7)} s  ${pad(kib(memory.cpDeltaKiB), 36)} ${mib(sum((r) => r.changedBytes))} (local)`,
      `  ${pad('rsync --inplace --no-whole-file', 32)} ${lpad(d.rsyncSec.toFixed(3), 7)} s  ${pad(`client ${kib(memory.rsyncDeltaClientKiB)}, daemon ${kib(memory.rsyncDeltaDaemonKiB)}`, 36)} ${mib(d.rsyncWireBytes)}`,
      `  ${pad('hvreplica cycle (agent)', 32)} ${lpad(d.hvrCycleSec.toFixed(3), 7)} s  ${pad(`server ${kib(memory.hvrDeltaServerKiB)}`, 36)} ${mib(d.hvrLogBytes)} of log`,
      `  ${pad('hvreplica replicate (process)', 32)} ${lpad(d.hvrProcessSec.toFixed(3), 7)} s  ${pad(`agent ${kib(memory.hvrDeltaAgentKiB)}`, 36)}`,
      `  ${pad('hvreplica agent run: cycle', 32)} ${lpad(agentService.latencySec.toFixed(3), 7)} s  ${pad(`agent service ${kib(agentService.peakKiB)}`, 36)} ${mib(agentService.logBytes)} of log`,
      `  ${pad('hvreplica agent run: tick→done', 32)} ${lpad(agentService.tickSec.toFixed(3), 7)} s  ${agentService.agentCpuSec === null ? '' : `agent CPU ${agentService.agentCpuSec.toFixed(3)} s per cycle`}`,
      `  (agent service: median of ${agentWarm.length} warm cycle(s) fired by its ${FREQUENCY_SEC} s schedule, ${mib(agentService.changedBytes)} changed per cycle; its first cycle after start: tick→done ${agentService.first.tickSec.toFixed(3)} s, cycle ${agentService.first.latencySec.toFixed(3)} s)`,
      '',
      'Targets (DESIGN §6)                                       ratio      limit     met',
      ...targets.map((t) => `  ${pad(t.target, 54)} ${lpad(t.value.toFixed(2), 8)}   ${pad(t.limit, 8)}  ${t.met ? 'yes' : 'NO'}`),
      '',
      `Initial copy, CPU seconds (user + system): agent ${initialCpu.agentCpuSec?.toFixed(2) ?? 'n/a (no GNU time)'}, replica server ${initialCpu.serverCpuSec?.toFixed(2) ?? 'n/a'}`,
      `Agent warnings (stderr of hvreplica replicate): ${allWarnings.length === 0 ? 'none' : `${allWarnings.length}, first: ${allWarnings[0]}`}`,
      `Agent service warnings (hvreplica agent run): ${agentWarnings.length === 0 ? 'none' : `${agentWarnings.length}, first: ${agentWarnings[0]}`}`,
      `Server warnings (stderr of hvreplica server run): ${serverWarnings.length === 0 ? 'none' : `${serverWarnings.length}, first: ${serverWarnings[0]}`}`,
      `Replica equals primary (SHA-256 per disk at the last point): ${replicaEqual ? 'yes' : 'NO'}; rsync copy equals the primary's files: ${rsyncEqual ? 'yes' : 'NO'}`,
    ];
    process.stdout.write(`${lines.map((line) => line.trimEnd()).join('\n')}\n`);
    const report = {
      bench: 'replication',
      node: process.version,
      cores: cpus().length,
      loadAverage: load,
      options: { diskMiB: o.diskMiB, disks: o.disks, changePercent: o.changePercent, rounds: o.rounds, agentRounds: o.agentRounds, seed: o.seed },
      initial: {
        bytes: totalBytes,
        cp: { sec: cpInitial.sec, peakKiB: cpInitial.peakKiB },
        rsync: { sec: rsyncInitial.run.sec, clientPeakKiB: rsyncInitial.run.peakKiB, daemonPeakKiB: rsyncInitialDaemonKiB, wireBytes: rsyncInitial.stats.wireBytes },
        hvreplica: { processSec: hvrInitialSec, cycleSec: initialCycle.LatencySec, agentPeakKiB: initial.run.peakKiB, serverPeakKiB: serverInitialKiB, logBytes: initialCycle.LogBytes, warnings: initialWarnings, ...initialCpu },
      },
      delta: { median: d, rounds, agentService: { ...agentService, rounds: agentRounds } },
      serverWarnings,
      ratios,
      memory,
      targets,
      verified: { replicaEqualsPrimary: replicaEqual, rsyncCopyEqualsPrimary: rsyncEqual, primarySha256: primaryHashes, replicaSha256: replicaHashes },
    };
    printReport(report, replicaEqual && rsyncEqual);
  });
}

await main();
