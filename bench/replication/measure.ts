/**
 * Wall time and peak memory of child processes, the same way for hvreplica and for its peers.
 *
 * Peak memory is the peak resident set size (the kernel's ru_maxrss / VmHWM). With GNU time installed
 * (`/usr/bin/time`, Debian package `time`) it comes from `time -f %M`, which reports the largest
 * ru_maxrss of the process and every descendant it waited for: exact, even for processes that live a few
 * milliseconds. Without it, /proc/<pid>/status VmHWM of the process tree is polled every 20 ms, which can
 * miss a short-lived child's last growth (the method is reported so that a reader knows which one ran).
 * A long-running process we hold the pid of (the replica server) is read directly, and its peak is reset
 * between phases through /proc/<pid>/clear_refs ("5" resets VmHWM, Linux ≥ 4.0).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export const GNU_TIME = '/usr/bin/time';

export type PeakMethod = 'gnu-time' | 'proc-vmhwm';

/** GNU time when present; HVR_BENCH_PEAK=proc forces the /proc fallback (to exercise it). */
export function peakMethod(): PeakMethod {
  return existsSync(GNU_TIME) && process.env.HVR_BENCH_PEAK !== 'proc' ? 'gnu-time' : 'proc-vmhwm';
}

/** VmHWM of one process in KiB, 0 when it is gone (it may exit between listing and reading). */
export function vmHwmKiB(pid: number): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resets the peak RSS of a process so that the next read covers one phase only; false if refused. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

function descendants(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const tasks = (() => {
      try {
        return readdirSync(`/proc/${out[i]}/task`);
      } catch {
        return [];
      }
    })();
    for (const task of tasks) {
      try {
        const text = readFileSync(`/proc/${out[i]}/task/${task}/children`, 'utf8').trim();
        if (text) out.push(...text.split(/\s+/).map(Number));
      } catch {
        // the task ended meanwhile
      }
    }
  }
  return out;
}

/** Polls the VmHWM of a process tree; `stop()` returns the largest value seen (KiB). */
export class TreePeakSampler {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 20);
  }

  sample(): void {
    for (const p of descendants(this.pid)) this.peak = Math.max(this.peak, vmHwmKiB(p));
  }

  stop(): number {
    clearInterval(this.timer);
    return this.peak;
  }
}

export interface Measured {
  code: number | null;
  sec: number;
  /** Peak RSS of the process and its children, KiB. */
  peakKiB: number;
  /**
   * CPU seconds (user + system) of the process and the children it waited for, with GNU time; undefined
   * without. Less at the mercy of a loaded machine than the wall time: what a change saves in work shows
   * here even when other engineers' builds stretch every wall time.
   */
  cpuSec?: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion and measures it. The wall time is taken here around spawn and exit, so
 * the peers and hvreplica pay the same process start-up; GNU time adds one fork/exec to each alike.
 */
export async function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measured> {
  const method = peakMethod();
  const scratch = method === 'gnu-time' ? await mkdtemp(join(tmpdir(), 'hvr-bench-time-')) : undefined;
  const timeFile = scratch ? join(scratch, 'rusage') : '';
  const argv = scratch ? [GNU_TIME, '-f', '%M %U %S', '-o', timeFile, cmd, ...args] : [cmd, ...args];
  const start = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const sampler = method === 'proc-vmhwm' && child.pid !== undefined ? new TreePeakSampler(child.pid) : undefined;
  const { code, stdout, stderr } = await collect(child);
  const sec = (performance.now() - start) / 1000;
  let peakKiB = sampler?.stop() ?? 0;
  let cpuSec: number | undefined;
  if (scratch) {
    ({ peakKiB, cpuSec } = await readUsage(timeFile));
    await rm(scratch, { recursive: true, force: true });
  }
  return { code, sec, peakKiB, ...(cpuSec === undefined ? {} : { cpuSec }), stdout, stderr };
}

/** CPU seconds (user + system) a running process has used so far (/proc/<pid>/stat); undefined if unreadable. */
export function processCpuSec(pid: number): number | undefined {
  try {
    // Fields after the command name (which may hold spaces, hence the last ')'): utime and stime are 14 and 15.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').at(-1)!.trim().split(/\s+/);
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux architecture node runs on. */
const CLOCK_TICKS = 100;

async function readTimeFile(path: string): Promise<number> {
  return (await readUsage(path)).peakKiB;
}

/** GNU time writes "Command exited with non-zero status N" before the figures when the command failed. */
async function readUsage(path: string): Promise<{ peakKiB: number; cpuSec?: number }> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const lines = text.trim().split('\n').map((line) => line.trim().split(/\s+/));
  const figures = lines.filter((f) => f.length >= 1 && f.every((x) => /^\d+(\.\d+)?$/.test(x))).at(-1);
  if (!figures) return { peakKiB: 0 };
  return { peakKiB: Number(figures[0]), ...(figures.length === 3 ? { cpuSec: Number(figures[1]) + Number(figures[2]) } : {}) };
}

function collect(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * A long-running command (the rsync daemon) whose peak covers its whole life and its forked children:
 * under GNU time when present (reported at exit), else polled. `stop(pid)` signals the real process
 * (GNU time would die of SIGTERM itself and lose the report, so the caller names the daemon's own pid).
 */
export class Daemon {
  private readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  private readonly sampler: TreePeakSampler | undefined;

  private constructor(
    readonly child: ChildProcess,
    private readonly timeFile: string | undefined,
    private readonly scratch: string | undefined,
  ) {
    this.done = collect(child);
    this.sampler = !timeFile && child.pid !== undefined ? new TreePeakSampler(child.pid) : undefined;
  }

  static async start(cmd: string, args: string[]): Promise<Daemon> {
    if (peakMethod() === 'gnu-time') {
      const scratch = await mkdtemp(join(tmpdir(), 'hvr-bench-time-'));
      const timeFile = join(scratch, 'rusage');
      return new Daemon(spawn(GNU_TIME, ['-f', '%M', '-o', timeFile, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }), timeFile, scratch);
    }
    return new Daemon(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }), undefined, undefined);
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Sends SIGTERM to `pid` (the daemon itself), waits for the exit and returns the peak RSS in KiB. */
  async stop(pid: number): Promise<{ peakKiB: number; stderr: string }> {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone: the report below still holds its peak
    }
    const { stderr } = await this.done;
    let peakKiB = this.sampler?.stop() ?? 0;
    if (this.timeFile) peakKiB = await readTimeFile(this.timeFile);
    if (this.scratch) await rm(this.scratch, { recursive: true, force: true });
    return { peakKiB, stderr };
  }
}
