/**
 * The per-VM lock that keeps writers and reference-point operations apart, across processes: a
 * `vm.lock` file created exclusively, holding the owner's pid. A lock whose owner died is taken over.
 * Invariant the file host relies on: while nobody holds the lock, no process has a layer of the VM open
 * for writing, and every layer on disk is flushed and closed.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HostError } from '../host-error.js';

export const LOCK_FILE = 'vm.lock';

const inProcess = new Map<string, Promise<void>>();

function ownerAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(path: string): Promise<{ pid?: unknown; purpose?: unknown } | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as { pid?: unknown; purpose?: unknown };
  } catch {
    return undefined; // absent, or being written or removed right now
  }
}

async function createExclusive(path: string, purpose: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx');
    await handle.writeFile(JSON.stringify({ pid: process.pid, purpose, since: new Date().toISOString() }));
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * A process that had to wait registers itself in `vm.lock.next`; others leave the lock to it, so a
 * reference point gets in after the current write batch instead of racing a writer that re-locks at once.
 */
async function acquireFile(path: string, purpose: string, timeoutMs: number): Promise<void> {
  const nextPath = `${path}.next`;
  const deadline = Date.now() + timeoutMs;
  let pause = 1;
  for (;;) {
    const next = await readOwner(nextPath);
    const nextPid = typeof next?.pid === 'number' ? next.pid : undefined;
    if (nextPid !== undefined && !ownerAlive(nextPid)) await rm(nextPath, { force: true });
    const yieldToNext = nextPid !== undefined && nextPid !== process.pid && ownerAlive(nextPid);
    if (!yieldToNext && (await createExclusive(path, purpose))) {
      if (nextPid === process.pid) await rm(nextPath, { force: true });
      return;
    }
    if (nextPid === undefined) await createExclusive(nextPath, purpose);
    const owner = await readOwner(path);
    if (typeof owner?.pid === 'number' && !ownerAlive(owner.pid)) {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      if ((await readOwner(nextPath))?.pid === process.pid) await rm(nextPath, { force: true });
      throw new HostError(
        'ERR_BUSY',
        `the VM is locked by process ${String(owner?.pid)} (${String(owner?.purpose)}); try again, or remove ${path} if that process is gone`,
      );
    }
    await sleep(pause);
    pause = Math.min(pause * 2, 20);
  }
}

/** Runs `fn` holding the VM folder's lock. */
export async function withVmLock<T>(folder: string, purpose: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  // Callers in one process queue here first, so the file lock is never contended by its own process.
  const previous = inProcess.get(folder) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => mine);
  inProcess.set(folder, tail);
  await previous;
  const path = join(folder, LOCK_FILE);
  try {
    await acquireFile(path, purpose, timeoutMs);
    try {
      return await fn();
    } finally {
      await rm(path, { force: true });
    }
  } finally {
    release();
    if (inProcess.get(folder) === tail) inProcess.delete(folder);
  }
}
