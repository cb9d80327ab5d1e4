/**
 * One replication cycle of a VM at a time across processes (the agent, a scheduled `replicate`, an
 * `initial start` running in the background): a holder file (src/util/holder-file.ts) naming the holder's
 * process by its id and start. A lock whose process is gone was left by a crash and is taken over, also when
 * its id now names an unrelated process (after a reboot, or a long time): judged by the id alone, the cycles
 * of the VM would never run again. A lock of an earlier version names the id only and is judged by it alone;
 * one that names no holder (empty or torn) holds nothing. A cycle may run for hours, so age alone never
 * breaks a lock.
 *
 * Another process stops the holder's cycle (Stop-VMInitialReplication, a suspend during a resync) by
 * leaving a cancel marker beside the lock: the holder polls for it and aborts the signal its cycle runs
 * under, so the cycle ends the way any aborted cycle does (its reference point discarded, nothing half-applied).
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../logging/logger.js';
import { AgentError } from './errors.js';
import { brokenHolderMessage, createHolderFile, describeHolder, holderOfThisProcess, processRuns, readHolderFile, releaseHolderFile, removeHolderFileIf, sameHolder, type Holder } from '../util/holder-file.js';

const log = logger('cycle-lock');
const CANCEL_POLL_MS = 200;
/** How long a cycle waits while another process takes over a lock left by a crash (that takes milliseconds). */
const TAKEOVER_WAIT_MS = 5_000;

export function cancelMarkerFile(lockPath: string): string {
  return `${lockPath}.cancel`;
}

/**
 * The live process holding the lock, if any: a lock left by a process that is gone (also when its id now
 * names another process) has no holder, nor has one that names none. A lock this process holds is held
 * (by another of its tasks); a lock naming this process's id with another start was an earlier process's.
 */
export async function cycleLockHolder(path: string): Promise<Holder | undefined> {
  const holder = await readHolderFile(path);
  return holder !== undefined && processRuns(holder) ? holder : undefined;
}

/** The ERR_BUSY of a cycle that finds `holder` running one (`then`: what to do, after "wait for it to finish"). */
export function cycleBusyError(vmName: string, holder: Holder, then = ''): AgentError {
  return new AgentError('ERR_BUSY', `a replication cycle of VM '${vmName}' is already running in ${describeHolder(holder)}; wait for it to finish${then}`);
}

/** Takes the lock for this process; returns the holder its file names. */
async function acquire(path: string, vmName: string): Promise<Holder> {
  const me = holderOfThisProcess('replication cycle');
  const deadline = Date.now() + TAKEOVER_WAIT_MS;
  for (;;) {
    if (await createHolderFile(path, me)) return me;
    const found = await readHolderFile(path);
    if (found !== undefined && processRuns(found)) throw cycleBusyError(vmName, found);
    // Undefined also when the holder let go just now (no file: nothing to say).
    if (found === undefined && (await exists(path))) log.warn(brokenHolderMessage(path), { vm: vmName });
    // Removed only if it still names what was read: another process may have taken it over first.
    if (!(await removeHolderFileIf(path, found))) {
      if (Date.now() > deadline) throw new AgentError('ERR_BUSY', `the cycle lock ${path} of VM '${vmName}', left by a crash, is being taken over by another process; try again`);
      await sleep(50);
    }
  }
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

/** What a cancel marker says: which holder it asks to stop (absent in markers of earlier versions). */
interface CancelMarker {
  by: number;
  holder?: Holder;
}

/**
 * Removes a marker meant for a cycle that has ended, and keeps one meant for this holder: the lock is visible
 * from the moment it is linked in, and a cancel may arrive before its holder got here.
 */
async function dropEarlierCancel(lockPath: string, me: Holder): Promise<void> {
  const marker = cancelMarkerFile(lockPath);
  const text = await readFile(marker, 'utf8').catch(() => undefined);
  if (text === undefined) return;
  let meant: Holder | undefined;
  try {
    meant = (JSON.parse(text) as CancelMarker).holder;
  } catch {
    meant = undefined;
  }
  if (!sameHolder(meant, me)) await rm(marker, { force: true });
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
  const me = await acquire(path, vmName);
  await dropEarlierCancel(path, me);
  const controller = new AbortController();
  const stopWatching = watchCancel(path, controller);
  try {
    return await body(controller.signal);
  } finally {
    stopWatching();
    await releaseHolderFile(path, me);
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
  const asked: CancelMarker = { by: process.pid, holder };
  await writeFile(marker, JSON.stringify(asked));
  try {
    const deadline = Date.now() + waitMs;
    const stopped = async () => !sameHolder(await cycleLockHolder(path), holder) && (!options.settled || !processRuns(holder) || (await options.settled(holder.pid)));
    while (!(await stopped())) {
      if (Date.now() > deadline) {
        throw new AgentError('ERR_TIMEOUT', `the replication cycle of VM '${vmName}' in ${describeHolder(holder)} did not stop within ${waitMs / 1000} s; try again, or end that process`);
      }
      await sleep(CANCEL_POLL_MS);
    }
  } finally {
    await rm(marker, { force: true });
  }
  return holder.pid;
}
