/**
 * `hvreplica agent run` as the service an administrator installs (DESIGN §3: the primary's scheduler runs
 * the delta cycles), for the replication bench: started once, it fires each VM's cycle at the relationship's
 * frequency, and every cycle it finishes is one `replication cycle done` line of its log (agent.ts), read
 * here from its stderr. So a cycle is measured in a warm process, without the start-up and tear-down that a
 * one-shot `hvreplica replicate` pays for each one, and without anything of the bench running in it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI_PATH } from '../../src/demo/server-process.js';
import { roleNodeOptions } from '../../src/cli/commands/service/plan.js';
import { processCpuSec, vmHwmKiB } from './measure.js';

/** One cycle as the agent logged it (agent.ts logCycle). */
export interface AgentCycle {
  vm: string;
  kind: 'initial' | 'delta' | 'resync';
  sequence: number;
  referencePoint: string;
  logBytes: number;
  changedBytes: number;
  /** Reference point to acknowledgement, as `replicate` reports LatencySec. */
  latencySec: number;
  /** The agent's whole cycle: its scheduler's tick to the recorded outcome. */
  tickSec: number;
  /** CPU seconds the agent process used from the previous cycle's end (or its start) to this one's. */
  agentCpuSec: number | null;
}

interface LogLine {
  message?: string;
  level?: string;
  [key: string]: unknown;
}

export class AgentService {
  stderr = '';
  private stdout = '';
  private buffered = '';
  private readonly cycles: AgentCycle[] = [];
  private waiter: (() => void) | undefined;
  private failure: string | undefined;
  private cpuMark = 0;
  private readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => this.take(d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => (this.failure ??= `agent run exited with code ${code}`, this.waiter?.(), resolve(code))));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /**
   * Starts `agent run` on the primary's state folder, with the node options the installed service gets
   * (service/plan.ts) and the bench's own (HVR_BENCH_NODE_ARGS), and waits until it scheduled its VMs.
   */
  static async start(stateDir: string, nodeArgs: string[]): Promise<AgentService> {
    const child = spawn(process.execPath, [...roleNodeOptions('agent'), ...nodeArgs, CLI_PATH, 'agent', 'run', '--json', `--state-dir=${stateDir}`], {
      env: { ...process.env, HVR_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const agent = new AgentService(child);
    try {
      await agent.until(() => agent.stderr.includes('"agent running"'), 30_000, 'the agent did not start');
    } catch (error) {
      agent.kill();
      throw error;
    }
    agent.cpuMark = processCpuSec(agent.pid) ?? 0;
    return agent;
  }

  /** The next cycle the agent finishes (its schedule fires it); fails on a failed cycle or an exit. */
  async nextCycle(timeoutMs: number): Promise<AgentCycle> {
    const seen = this.cycles.length;
    await this.until(() => this.cycles.length > seen, timeoutMs, 'no replication cycle finished in time');
    return this.cycles[seen]!;
  }

  peakKiB(): number {
    return vmHwmKiB(this.pid);
  }

  /** SIGTERM (a graceful stop) and its exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private take(text: string): void {
    this.stderr += text;
    this.buffered += text;
    const lines = this.buffered.split('\n');
    this.buffered = lines.pop()!;
    for (const line of lines) {
      let entry: LogLine;
      try {
        entry = JSON.parse(line) as LogLine;
      } catch {
        continue;
      }
      if (entry.message === 'replication cycle done') {
        const cpu = processCpuSec(this.pid);
        this.cycles.push({
          vm: String(entry.vm),
          kind: entry.kind as AgentCycle['kind'],
          sequence: Number(entry.sequence),
          referencePoint: String(entry.referencePoint),
          logBytes: Number(entry.logBytes),
          changedBytes: Number(entry.changedBytes),
          latencySec: Number(entry.latencySec),
          tickSec: Number(entry.tickSec),
          agentCpuSec: cpu === undefined ? null : cpu - this.cpuMark,
        });
        if (cpu !== undefined) this.cpuMark = cpu;
      } else if (entry.level === 'warn' && typeof entry.message === 'string' && entry.message.includes('cycle failed')) {
        this.failure ??= `the agent's cycle failed: ${line}`;
      }
    }
    this.waiter?.();
  }

  private async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (this.failure) throw new Error(`${this.failure}\n${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what} (waited ${timeoutMs / 1000} s):\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => (clearTimeout(timer), resolve());
      });
      this.waiter = undefined;
    }
  }

  /** The report `agent run --json` printed when it stopped (Cycles, FailedCycles). */
  get report(): unknown {
    try {
      return (JSON.parse(this.stdout) as { result?: unknown }).result;
    } catch {
      return undefined;
    }
  }
}
