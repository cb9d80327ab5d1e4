/**
 * Sustained-write benchmark (issue 6, DESIGN §6): "a 30-second cycle held under 20 MB/s of sustained guest
 * writes on one VM, with the data at risk reported at every moment".
 *
 *   `hvreplica server run` and `hvreplica agent run` (frequency 30 s) on two paired state folders, an initial
 *   replication, then `hvreplica workload --rate` writing into the VM for the whole run while
 *   `hvreplica replication measure` is sampled every second for PendingReplicationSize (the data at risk,
 *   read from the change tracker at that moment). After the workload: the samples continue until a cycle
 *   has taken everything (data at risk 0), the agent stops, one last `hvreplica replicate` catches up and
 *   the replica must equal the primary by hash.
 *
 * Reported: cycles completed vs due, MissedReplicationCount, the cycles' latency, max and p95 of the data at
 * risk, how long the last writes stayed at risk, peak RSS of the agent and the server.
 *
 * Run: node dist/bench/replication/sustained.js [--disk-mib=4096] [--rate-mb=20] [--duration-sec=300]
 *        [--frequency-sec=30] [--sample-ms=1000] [--batch=64] [--seed=1] [--work-dir=os.tmpdir()] [--keep]
 * Prints a table, then one JSON line (the last line of stdout).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI_PATH, freePort } from '../../src/demo/server-process.js';
import type { JournalEntry } from '../../src/host/file/workload.js';
import { configureLogging } from '../../src/logging/logger.js';
import { benchNodeArgs, benchOptions, changedBytes, inBenchFolder, loadNow, printReport, type CommonOptions, compareContent, hvreplica, kib, lpad, MEMORY_LIMIT_KIB, mib, pad, pairedVm, VM, warnings } from './kit.js';
import { vmHwmKiB } from './measure.js';

configureLogging({ quietConsole: true });

interface Options extends CommonOptions {
  /** Decimal megabytes per second, as DESIGN and Hyper-V's sizing guidance state it. */
  rateMB: number;
  durationSec: number;
  frequencySec: 30 | 300 | 900;
  sampleMs: number;
  /** Writes per VM-lock hold of the workload: each hold opens and closes (flushes) the layer. */
  batch: number;
}

function options(): Options {
  const { common, values } = benchOptions({
    'rate-mb': { type: 'string', default: '20' },
    'duration-sec': { type: 'string', default: '300' },
    'frequency-sec': { type: 'string', default: '30' },
    'sample-ms': { type: 'string', default: '1000' },
    batch: { type: 'string', default: '64' },
  });
  const frequency = Number(values['frequency-sec']);
  const o: Options = {
    ...common,
    rateMB: Number(values['rate-mb']),
    durationSec: Number(values['duration-sec']),
    frequencySec: frequency as Options['frequencySec'],
    sampleMs: Number(values['sample-ms']),
    batch: Number(values.batch),
  };
  if (!(o.rateMB > 0 && o.rateMB <= 1000)) throw new Error(`--rate-mb must be in (0, 1000] MB/s, got ${String(values['rate-mb'])}`);
  if (![30, 300, 900].includes(frequency)) throw new Error(`--frequency-sec must be 30, 300 or 900 (Hyper-V's frequencies), got ${String(values['frequency-sec'])}`);
  if (!Number.isInteger(o.durationSec) || o.durationSec < frequency) throw new Error(`--duration-sec must be a whole number ≥ the frequency (${frequency}) so that a cycle falls inside, got ${String(values['duration-sec'])}`);
  if (!Number.isInteger(o.sampleMs) || o.sampleMs < 100) throw new Error(`--sample-ms must be a whole number ≥ 100, got ${String(values['sample-ms'])}`);
  if (!Number.isInteger(o.batch) || o.batch < 1) throw new Error(`--batch must be a positive whole number, got ${String(values.batch)}`);
  return o;
}

/** A long-running CLI child (agent, workload): stdout and stderr collected, the exit awaited. */
class Child {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(readonly process: ChildProcess) {
    process.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    process.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => process.once('exit', (code) => resolve(code)));
  }
  static start(args: string[]): Child {
    return new Child(spawn(globalThis.process.execPath, [...benchNodeArgs(), CLI_PATH, ...args, '--json'], { env: { ...globalThis.process.env, HVR_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] }));
  }
  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }
  result<T>(): T {
    return (JSON.parse(this.stdout.trim().split('\n').at(-1)!) as { result: T }).result;
  }
}

interface Health {
  PendingReplicationSize: number | null;
  SuccessfulReplicationCount: number;
  MissedReplicationCount: number;
  ReplicationErrors: number;
  AverageReplicationLatency: number | null;
  MaximumReplicationLatency: number | null;
  ReplicationState: string;
}

interface Sample {
  /** Seconds since the workload started. */
  t: number;
  pending: number | null;
  /** How long the measure command took, seconds (process start included). */
  sec: number;
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
};

async function main(): Promise<void> {
  const o = options();
  const load = { start: loadNow(), end: [] as number[] };
  const root = await mkdtemp(join(o.workDir, 'hvr-bench-sustained-'));
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  let agent: Child | undefined;
  let workload: Child | undefined;
  await inBenchFolder(root, o.keep, say, async (run) => {
    try {
      const paired = await pairedVm({ root, disks: 1, diskMiB: o.diskMiB, frequencySec: o.frequencySec, say });
      const server = (run.server = paired.server);
      const { primaryState } = paired;
      const state = `--state-dir=${primaryState}`;
      const measureNow = async (): Promise<{ health: Health; sec: number }> => {
        const { run, result } = await hvreplica(['replication', 'measure', `--vm-name=${VM}`, state]);
        return { health: (result as Health[])[0]!, sec: run.sec };
      };

      say('initial replication');
      const initial = await hvreplica(['replicate', `--vm=${VM}`, state]);

      say(`agent (every ${o.frequencySec} s) and workload (${o.rateMB} MB/s for ${o.durationSec} s)`);
      const metricsPort = await freePort();
      const agentStarted = performance.now();
      agent = Child.start(['agent', 'run', state, `--metrics-port=${metricsPort}`]);
      // The listener answers once the agent has read its relationships and scheduled them.
      for (let i = 0; ; i += 1) {
        if (!agent.running) throw new Error(`the agent exited during start-up:\n${agent.stderr}`);
        if (await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.ok, () => false)) break;
        if (i > 300) throw new Error('the agent did not start its metrics listener in 30 s');
        await sleep(100);
      }
      const journal = join(root, 'journal.jsonl');
      const rate = Math.round(o.rateMB * 1e6);
      const workloadStarted = performance.now();
      workload = Child.start(['workload', `--vm=${VM}`, `--seed=${o.seed}`, `--rate=${rate}`, `--batch=${o.batch}`, `--duration=${o.durationSec}`, `--journal=${journal}`, state]);

      // --- the data at risk, every sample period, while the guest writes and until a cycle took it all
      const samples: Sample[] = [];
      let workloadEnded: number | undefined;
      let drainedAt: number | undefined;
      const drainLimitSec = 3 * o.frequencySec;
      for (;;) {
        const started = performance.now();
        const { health, sec } = await measureNow();
        const t = (started - workloadStarted) / 1000;
        samples.push({ t, pending: health.PendingReplicationSize, sec });
        if (workloadEnded === undefined && !workload.running) {
          workloadEnded = (performance.now() - workloadStarted) / 1000;
          say(`workload done at ${workloadEnded.toFixed(1)} s; sampling until a cycle takes the rest`);
        }
        if (workloadEnded !== undefined && t > workloadEnded && health.PendingReplicationSize === 0) {
          drainedAt = t;
          break;
        }
        if (workloadEnded !== undefined && t > workloadEnded + drainLimitSec) break;
        const rest = o.sampleMs - (performance.now() - started);
        if (rest > 0) await sleep(rest);
      }
      const workloadCode = await workload.exited;
      if (workloadCode !== 0) throw new Error(`the workload failed (exit ${workloadCode}):\n${workload.stderr}`);
      const workloadReport = workload.result<{ bytes: number; writes: number; durationMs: number }>();
      const metricsText = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
      const gaugeReported = new RegExp(`^hvr_agent_pending_replication_bytes\\{vm="${VM}"\\} \\d+$`, 'm').test(metricsText);

      // --- the agent's own account, then its stop
      const agentPeakKiB = vmHwmKiB(agent.process.pid!);
      const agentSec = (performance.now() - agentStarted) / 1000;
      agent.process.kill('SIGTERM');
      const agentCode = await agent.exited;
      if (agentCode !== 0) throw new Error(`the agent stopped with exit code ${agentCode}:\n${agent.stderr}`);
      const agentReport = agent.result<{ Cycles: number; FailedCycles: number }>();
      const agentWarnings = warnings(agent);
      const missedInLog = agentWarnings.filter((line) => line.includes('this interval is missed')).length;
      const health = (await measureNow()).health;

      say('catching up and verifying');
      const last = (await hvreplica(['replicate', `--vm=${VM}`, state])).result as { ReferencePoint: string };
      const serverPeakKiB = vmHwmKiB(server.child.pid!);
      const stopCode = await server.stop();
      if (stopCode !== 0) throw new Error(`the replica server stopped with exit code ${stopCode}:\n${server.stderr}`);
      const serverWarnings = warnings(server);
      const content = await compareContent(paired, last.ReferencePoint);
      load.end = loadNow();

      // --- figures
      const entries = (await readFile(journal, 'utf8')).trim().split('\n').filter((l) => l.length > 0).map((line) => JSON.parse(line) as JournalEntry);
      const during = samples.filter((s) => workloadEnded === undefined || s.t <= workloadEnded);
      const known = during.map((s) => s.pending).filter((p): p is number => p !== null);
      const unreadable = samples.filter((s) => s.pending === null).length;
      const gaps = samples.slice(1).map((s, i) => s.t - samples[i]!.t);
      const due = Math.floor(agentSec / o.frequencySec);
      const risk = {
        maxBytes: known.length > 0 ? Math.max(...known) : 0,
        p95Bytes: percentile(known, 0.95),
        meanBytes: known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : 0,
        samples: samples.length,
        unreadableSamples: unreadable,
        maxGapSec: gaps.length > 0 ? Math.max(...gaps) : 0,
        medianMeasureSec: percentile(samples.map((s) => s.sec), 0.5),
        drainedAfterSec: drainedAt !== undefined && workloadEnded !== undefined ? drainedAt - workloadEnded : null,
      };
      const cycles = {
        due,
        completed: agentReport.Cycles,
        failed: agentReport.FailedCycles,
        missed: health.MissedReplicationCount,
        missedInAgentLog: missedInLog,
        successfulInInterval: health.SuccessfulReplicationCount,
        replicationErrors: health.ReplicationErrors,
        averageLatencySec: health.AverageReplicationLatency,
        maximumLatencySec: health.MaximumReplicationLatency,
      };
      const writtenRate = workloadReport.bytes / (workloadReport.durationMs / 1000);
      // The verdicts hold for the rate the guest really wrote: a workload that fell short is a failed condition.
      const targets = [
        { target: `workload: achieved / requested ${o.rateMB} MB/s`, value: writtenRate / rate, limit: '>= 0.95', met: writtenRate >= 0.95 * rate },
        { target: 'cycles completed / due', value: due === 0 ? 0 : cycles.completed / due, limit: '>= 1', met: due > 0 && cycles.completed >= due },
        { target: 'missed cycles (MissedReplicationCount)', value: cycles.missed, limit: '0', met: cycles.missed === 0 && missedInLog === 0 },
        { target: 'failed cycles', value: cycles.failed + cycles.replicationErrors, limit: '0', met: cycles.failed === 0 && cycles.replicationErrors === 0 },
        { target: `longest cycle (s) within the ${o.frequencySec} s frequency`, value: cycles.maximumLatencySec ?? 0, limit: `<= ${o.frequencySec}`, met: cycles.maximumLatencySec !== null && cycles.maximumLatencySec <= o.frequencySec },
        { target: 'data at risk read at every sample', value: samples.length - unreadable, limit: `= ${samples.length}`, met: unreadable === 0 && gaugeReported },
        { target: 'memory: agent peak RSS (MiB)', value: agentPeakKiB / 1024, limit: '< 256', met: agentPeakKiB < MEMORY_LIMIT_KIB },
        { target: 'memory: server peak RSS (MiB)', value: serverPeakKiB / 1024, limit: '< 256', met: serverPeakKiB < MEMORY_LIMIT_KIB },
      ];

      const lines = [
        `hvreplica sustained-write benchmark: 1 × ${o.diskMiB} MiB VHDX, ${o.rateMB} MB/s for ${o.durationSec} s (${o.batch} writes per lock hold), cycles every ${o.frequencySec} s, seed ${o.seed}`,
        `node ${process.version}, ${cpus().length} cores, load average ${load.start.join(' ')} at start, ${load.end.join(' ')} at end; peak memory by /proc VmHWM`,
        '',
        `Workload: ${mib(workloadReport.bytes)} in ${workloadReport.writes} writes over ${(workloadReport.durationMs / 1000).toFixed(1)} s (${(writtenRate / 1e6).toFixed(1)} MB/s achieved), ${mib(changedBytes(entries))} distinct`,
        `Initial replication: ${initial.run.sec.toFixed(2)} s`,
        '',
        `Cycles: ${cycles.completed} completed of ${due} due in ${agentSec.toFixed(0)} s, ${cycles.failed} failed, ${cycles.missed} missed (MissedReplicationCount; ${missedInLog} in the agent's log)`,
        `  latency: average ${cycles.averageLatencySec?.toFixed(2) ?? '-'} s, maximum ${cycles.maximumLatencySec?.toFixed(2) ?? '-'} s`,
        `Data at risk (PendingReplicationSize from \`replication measure\`, ${samples.length} samples, max gap ${risk.maxGapSec.toFixed(2)} s, median call ${risk.medianMeasureSec.toFixed(2)} s):`,
        `  while writing: max ${mib(risk.maxBytes)}, p95 ${mib(risk.p95Bytes)}, mean ${mib(risk.meanBytes)}; ${unreadable} unreadable sample(s)`,
        `  after the last write: ${risk.drainedAfterSec === null ? `NOT back to 0 within ${drainLimitSec} s` : `0 after ${risk.drainedAfterSec.toFixed(1)} s`}; /metrics gauge present: ${gaugeReported ? 'yes' : 'NO'}`,
        `Peak RSS: agent ${kib(agentPeakKiB)}, server ${kib(serverPeakKiB)}`,
        '',
        'Targets (DESIGN §6)                                       value      limit     met',
        ...targets.map((t) => `  ${pad(t.target, 54)} ${lpad(t.value.toFixed(2), 8)}   ${pad(t.limit, 8)}  ${t.met ? 'yes' : 'NO'}`),
        '',
        `Agent warnings: ${agentWarnings.length === 0 ? 'none' : `${agentWarnings.length}, first: ${agentWarnings[0]}`}`,
        `Server warnings: ${serverWarnings.length === 0 ? 'none' : `${serverWarnings.length}, first: ${serverWarnings[0]}`}`,
        `Replica equals primary (SHA-256 at the last point): ${content.equal ? 'yes' : 'NO'}`,
      ];
      process.stdout.write(`${lines.map((line) => line.trimEnd()).join('\n')}\n`);
      const report = {
        bench: 'sustained',
        node: process.version,
        cores: cpus().length,
        loadAverage: load,
        options: { diskMiB: o.diskMiB, rateMB: o.rateMB, durationSec: o.durationSec, frequencySec: o.frequencySec, sampleMs: o.sampleMs, batch: o.batch, seed: o.seed },
        workload: { bytes: workloadReport.bytes, writes: workloadReport.writes, durationMs: workloadReport.durationMs, distinctBytes: changedBytes(entries), achievedMBps: writtenRate / 1e6 },
        initialSec: initial.run.sec,
        cycles,
        dataAtRisk: risk,
        series: samples.map((s) => [Math.round(s.t * 100) / 100, s.pending]),
        memory: { method: 'proc-vmhwm', agentPeakKiB, serverPeakKiB },
        targets,
        warnings: { agent: agentWarnings, server: serverWarnings },
        verified: { replicaEqualsPrimary: content.equal, primarySha256: content.primarySha256, replicaSha256: content.replicaSha256 },
      };
      printReport(report, content.equal);
    } catch (error) {
      if (agent) say(`agent log:\n${agent.stderr}`);
      throw error;
    } finally {
      if (workload?.running) workload.process.kill('SIGTERM');
      if (agent?.running) agent.process.kill('SIGKILL');
    }
  });
}

await main();

