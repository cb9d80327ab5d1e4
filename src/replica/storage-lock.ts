/**
 * One user of a replica's storage folder at a time, across processes. The replica server (applying
 * logs) and the CLI on the same host (failover, test failover, recovery points) both open the VHDX
 * replica storage, which keeps its state in memory between operations and whose open() removes files
 * its state does not name (a log the other process is writing, a layer it just sealed). So every opening
 * of a storage folder happens inside this lock, and the storage object never outlives it.
 *
 * The lock is a file beside the folder (`<folder>.lock`, so deleting the folder on Complete-VMFailover
 * keeps it) naming the holder's process (holder-file.ts: its id and start). A lock whose process is gone
 * (also when its id now names another process) was left by a crash and is taken over; age alone never
 * breaks it, since applying a large cycle or flattening a disk may take long.
 * Within one process, holders queue on a promise chain, and a holder may take the same lock again
 * (a failover that completes another on its way) without deadlocking itself.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ReplicaError } from './errors.js';
import { logger } from '../logging/logger.js';
import { adviceWhenHeld, brokenHolderMessage, createHolderFile, describeHolder, holderGone, holderOfThisProcess, readHolderFile, releaseHolderFile, removeHolderFileIf, type Holder } from '../util/holder-file.js';
import { KeyedMutex } from './keyed-mutex.js';

const log = logger('storage-lock');
const held = new AsyncLocalStorage<ReadonlySet<string>>();
const local = new KeyedMutex();
/**
 * Holders whose body runs now. An enabled AsyncLocalStorage makes node 20 run async hooks for every promise
 * and callback the process creates, which cost the replica server several percent of its CPU during a full
 * copy (bench/replication/README.md, "Replica server CPU"); so it is disabled whenever no holder runs, and
 * only work inside a lock pays for it. run() enables it again.
 */
let running = 0;

/** Default wait for another process's holder: long enough for a large apply, short enough to report. */
export const STORAGE_LOCK_WAIT_MS = 10 * 60_000;
/**
 * A lock file without a readable holder (empty or torn: holder files are linked in whole, so only a power loss,
 * an earlier version's crash or a damaged volume leaves one) is broken after this.
 */
const UNNAMED_GRACE_MS = 5_000;

export function storageLockFile(folder: string): string {
  return `${resolve(folder)}.lock`;
}

export interface StorageLockOptions {
  /** How long to wait for another process's holder before ERR_BUSY (default STORAGE_LOCK_WAIT_MS). */
  waitMs?: number;
  /**
   * Told once when another live process holds the lock and this one has to wait for it (the CLI says so to
   * its administrator: a failover waits for the replica server's apply instead of seeming to hang).
   */
  onWait?: (holder: Holder, waitMs: number) => void;
}

/** Takes the lock for this process; returns the holder its file names (to give it up only while it names that). */
async function acquire(path: string, purpose: string, options: StorageLockOptions): Promise<Holder> {
  const waitMs = options.waitMs ?? STORAGE_LOCK_WAIT_MS;
  const me = holderOfThisProcess(purpose);
  await mkdir(dirname(path), { recursive: true });
  const start = Date.now();
  let unnamedSince: number | undefined;
  let told = false;
  for (;;) {
    if (await createHolderFile(path, me)) return me;
    const holder = await readHolderFile(path);
    const gone = holder !== undefined && holderGone(holder);
    if (holder && !gone && !told) {
      told = true;
      options.onWait?.(holder, waitMs);
    }
    if (holder && gone) {
      // Removed only if it still names that holder: another process waiting for it may have taken it first.
      if (await removeHolderFileIf(path, holder)) continue;
    } else if (!holder) {
      unnamedSince ??= Date.now();
      if (Date.now() - unnamedSince > UNNAMED_GRACE_MS) {
        unnamedSince = undefined;
        log.warn(brokenHolderMessage(path));
        if (await removeHolderFileIf(path, undefined)) continue;
      }
    } else unnamedSince = undefined;
    if (Date.now() - start > waitMs) {
      if (!holder) {
        throw new ReplicaError('ERR_BUSY', `the lock ${path} of the replica storage ${dirname(path)} names no holder (empty or torn) and is being broken; try again`);
      }
      throw new ReplicaError(
        'ERR_BUSY',
        `the replica storage ${dirname(path)} is in use by ${describeHolder(holder)}; try again when it has finished; ${adviceWhenHeld(holder, path, 'an hvreplica process (server, failover command)')}`,
      );
    }
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** Runs `body` while this process holds the storage folder's lock. */
export async function withStorageLock<T>(folder: string, purpose: string, body: () => Promise<T>, options: StorageLockOptions = {}): Promise<T> {
  const path = storageLockFile(folder);
  const mine = held.getStore();
  if (mine?.has(path)) return body();
  return local.run(path, async () => {
    const me = await acquire(path, purpose, options);
    running += 1;
    try {
      return await held.run(new Set([...(mine ?? []), path]), body);
    } finally {
      running -= 1;
      if (running === 0) held.disable();
      // Only while it still names this holder: taken over meanwhile, it is another process's lock now.
      await releaseHolderFile(path, me);
    }
  });
}
