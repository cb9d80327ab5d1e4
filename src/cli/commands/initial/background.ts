/**
 * `initial start` over the network returns once the copy has started, as Start-VMInitialReplication
 * does: the copy runs in a detached `hvreplica initial start --wait` that outlives this command, under
 * the VM's cycle lock, its output appended to `<state dir>/logs/initial-<VMId>.log`. This waits only
 * until that process has begun (its progress file names it) or has already ended with an error.
 */
import { spawn } from 'node:child_process';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentError } from '../../../agent/errors.js';
import { readInitialProgress } from '../../../agent/initial-progress.js';
import { CliError } from '../../cli-error.js';
import { ExitCode, type ExitCodeValue } from '../../exit-codes.js';

const STARTUP_WAIT_MS = 60_000;

export interface BackgroundStart {
  stateDir: string;
  vmId: string;
  vmName: string;
  /** Options the child needs besides the VM and the state dir (--vm-root, --use-backup, --bandwidth-limit). */
  extraArgs: string[];
}

export function initialLogFile(stateDir: string, vmId: string): string {
  return join(stateDir, 'logs', `initial-${vmId}.log`);
}

/** The child's JSON envelope (the last JSON line of the log), to report why it ended at once. */
async function childError(logFile: string, exitCode: number | null): Promise<Error> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  const line = text.split('\n').reverse().find((l) => l.startsWith('{"'));
  try {
    const envelope = JSON.parse(line ?? '') as { ok?: boolean; error?: { code?: string; message?: string } };
    if (envelope.error?.message) return new CliError(envelope.error.code ?? 'ERR_FAILED', envelope.error.message, (exitCode ?? ExitCode.Failure) as ExitCodeValue);
  } catch {
    // Not an envelope: fall through to the generic report.
  }
  return new CliError('ERR_FAILED', `the background initial replication ended at once (exit ${exitCode}); see ${logFile}`);
}

/** Starts the copy in a detached process and returns its pid once it runs. */
export async function startInBackground(start: BackgroundStart): Promise<{ pid: number; logFile: string }> {
  const logFile = initialLogFile(start.stateDir, start.vmId);
  await mkdir(join(start.stateDir, 'logs'), { recursive: true });
  const out = await open(logFile, 'a');
  let exited: { code: number | null } | undefined;
  let pid: number;
  try {
    const child = spawn(
      process.execPath,
      [...process.execArgv, process.argv[1]!, 'initial', 'start', '--wait', '--json', `--vm-name=${start.vmName}`, `--state-dir=${start.stateDir}`, `--background-log=${logFile}`, ...start.extraArgs],
      { detached: true, stdio: ['ignore', out.fd, out.fd], windowsHide: true },
    );
    child.once('exit', (code) => (exited = { code }));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    pid = child.pid!;
    child.unref();
  } finally {
    await out.close();
  }
  const deadline = Date.now() + STARTUP_WAIT_MS;
  for (;;) {
    const progress = await readInitialProgress(start.stateDir, start.vmId);
    // Running, or already done (a small VM on a fast link): either way the copy has started.
    if (progress?.Pid === pid && (progress.Status === 'Running' || progress.Status === 'Completed')) return { pid, logFile };
    if (exited) throw await childError(logFile, exited.code);
    if (Date.now() > deadline) throw new AgentError('ERR_TIMEOUT', `the background initial replication (process ${pid}) did not start within ${STARTUP_WAIT_MS / 1000} s; see ${logFile}`);
    await sleep(100);
  }
}
