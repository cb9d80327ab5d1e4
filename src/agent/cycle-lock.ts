/**
 * One replication cycle of a VM at a time across processes (the agent, a scheduled `replicate`, an
 * `initial start` running in the background): a lock file naming the holder's process id. A lock whose
 * process is gone was left by a crash and is taken over; a cycle may run for hours, so age alone never
 * breaks a lock.
 *
 * Another process stops the holder's cycle (Stop-VMInitialReplication, a suspend during a resync) by
 * leaving a cancel marker beside the lock: the holder polls for it and aborts the signal its cycle runs
 * under, so the cycle ends the way any aborted cycle does (its reference point discarded, nothing half-applied).
 */
import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentError } from './errors.js';
import { processAlive } from '../util/process-alive.js';

const CANCEL_POLL_MS = 200;

export function cancelMarkerFile(lockPath: string): string {
  return `${lockPath}.cancel`;
}

async function create(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx');
    await handle.writeFile(String(process.pid));
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** The live process holding the lock, if any (a lock left by a dead process has no holder). */
export async function cycleLockHolder(path: string): Promise<number | undefined> {
  const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  return Number.isInteger(holder) && holder > 0 && processAlive(holder) ? holder : undefined;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Whether another process has asked the lock's holder to stop (the marker stays until the holder let go),
 * for the holder to tell a cancellation from a failure whatever error the aborted work surfaced as.
 */
export function cancelRequested(lockPath: string): Promise<boolean> {
  return exists(cancelMarkerFile(lockPath));
}

/** Aborts `controller` once a cancel marker appears beside the lock; returns the poller's stop function. */
function watchCancel(lockPath: string, controller: AbortController): () => void {
  const marker = cancelMarkerFile(lockPath);
  const timer = setInterval(() => {
    void exists(marker).then((found) => {
      if (found && !controller.signal.aborted) controller.abort(new AgentError('ERR_CANCELLED', 'the cycle was cancelled by another command (initial stop or suspend)'));
    });
  }, CANCEL_POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Runs `body` while this process holds the VM's cycle lock. `body` gets a signal that aborts when another
 * process asks the cycle to stop (requestCycleCancel); callers combine it with their own.
 */
export async function withCycleLock<T>(path: string, vmName: string, body: (cancelled: AbortSignal) => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  if (!(await create(path))) {
    const holder = await cycleLockHolder(path);
    const busy = () => new AgentError('ERR_BUSY', `a replication cycle of VM '${vmName}' is already running in process ${holder}; wait for it to finish`);
    if (holder !== undefined) throw busy();
    await rm(path, { force: true });
    if (!(await create(path))) throw busy();
  }
  // A marker from before this holder was meant for a cycle that has ended.
  await rm(cancelMarkerFile(path), { force: true });
  const controller = new AbortController();
  const stopWatching = watchCancel(path, controller);
  try {
    return await body(controller.signal);
  } finally {
    stopWatching();
    await rm(path, { force: true });
  }
}

/**
 * Asks the process holding the lock to stop its cycle and waits until it has let go (or died) and, if
 * given, until `settled(holder)` says it has recorded how its work ended (the marker stays until then,
 * so the holder can still tell the cancel from a failure). Returns the holder's pid, or undefined when no
 * cycle was running. Throws ERR_TIMEOUT if it does not stop in time.
 */
export async function requestCycleCancel(path: string, vmName: string, options: { waitMs?: number; settled?: (holder: number) => Promise<boolean> } = {}): Promise<number | undefined> {
  const holder = await cycleLockHolder(path);
  if (holder === undefined) return undefined;
  const waitMs = options.waitMs ?? 120_000;
  const marker = cancelMarkerFile(path);
  await writeFile(marker, `${process.pid}\n`);
  try {
    const deadline = Date.now() + waitMs;
    const stopped = async () => (await cycleLockHolder(path)) !== holder && (!options.settled || !processAlive(holder) || (await options.settled(holder)));
    while (!(await stopped())) {
      if (Date.now() > deadline) {
        throw new AgentError('ERR_TIMEOUT', `the replication cycle of VM '${vmName}' in process ${holder} did not stop within ${waitMs / 1000} s; try again, or end that process`);
      }
      await sleep(CANCEL_POLL_MS);
    }
  } finally {
    await rm(marker, { force: true });
  }
  return holder;
}
