/**
 * One writer at a time of a small state file (a relationship, a failover record, the replica server's
 * settings, tombstones, the VM registry, backup copies), across processes and within one: two CLI
 * invocations, or a CLI and the agent, changing the same file at once would otherwise lose one update.
 *
 * The lock is `<file>.lock`, a holder file (src/util/holder-file.ts) naming the writer's process by id and
 * start. It is broken only when that process is gone (also when its id now names another process), or when
 * the file names no holder (empty or torn), never by its age: on a loaded host a live writer may hold it
 * for long (a failover record's update), and breaking it then let two writers write the same file. A lock
 * of an earlier version (the id as text) is judged by the id alone. Waiting for a live writer is bounded;
 * then ERR_BUSY says which process holds it and what to do.
 *
 * Within one process, writers of a file queue on a promise chain (a file naming this process's id is never
 * held by a live writer of this process, holder-file.ts holderGone), with the same bound. A writer that
 * takes the lock of a file again inside its own body (nothing does) waits for itself until the bound and
 * gets ERR_BUSY, as before.
 */
import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../logging/logger.js';
import { adviceWhenHeld, brokenHolderMessage, createHolderFile, describeHolder, holderGone, holderOfThisProcess, readHolderFile, releaseHolderFile, removeHolderFileIf, type Holder } from '../util/holder-file.js';
import { ReplicaError } from './errors.js';
import { KeyedMutex } from './keyed-mutex.js';

const log = logger('state-file-lock');
const local = new KeyedMutex();

/** How long a writer waits for another one by default: the others change a few small files and are done. */
export const STATE_FILE_LOCK_WAIT_MS = 10_000;

export interface StateFileLockOptions {
  /** How long to wait for another writer before ERR_BUSY (default STATE_FILE_LOCK_WAIT_MS). */
  waitMs?: number;
}

/** Runs `body` while this process (and, within it, this call) holds `<path>.lock`. */
export async function withFileLock<T>(path: string, body: () => Promise<T>, options: StateFileLockOptions = {}): Promise<T> {
  const file = resolve(path);
  const lock = `${file}.lock`;
  const waitMs = options.waitMs ?? STATE_FILE_LOCK_WAIT_MS;
  const until = Date.now() + waitMs;
  const busyHere = () => new ReplicaError('ERR_BUSY', `${file} is being changed by another task of this process (${process.pid}) for longer than ${waitMs / 1000} s; try again`);
  return local.run(
    lock,
    async () => {
      await mkdir(dirname(file), { recursive: true });
      const me = await acquire(file, lock, until);
      try {
        return await body();
      } finally {
        // Only while it still names this writer: deleted and taken by another process meanwhile, it is theirs.
        await releaseHolderFile(lock, me);
      }
    },
    { at: until, error: busyHere },
  );
}

/** Takes `lock` for this process; returns the holder its file names. */
async function acquire(file: string, lock: string, until: number): Promise<Holder> {
  const me = holderOfThisProcess(`changing ${basename(file)}`);
  for (;;) {
    if (await createHolderFile(lock, me)) return me;
    const found = await readHolderFile(lock);
    if (found !== undefined && !holderGone(found)) {
      if (Date.now() > until) throw busyError(file, lock, found);
      await sleep(50);
      continue;
    }
    // Undefined also when its holder let go just now (no file: nothing to say).
    if (found === undefined && (await exists(lock))) log.warn(brokenHolderMessage(lock));
    // Removed only if it still names what was read: another process may have taken it over first.
    if (!(await removeHolderFileIf(lock, found))) {
      if (Date.now() > until) throw new ReplicaError('ERR_BUSY', `the lock ${lock}, left by a crash, is being taken over by another process; try again`);
      await sleep(50);
    }
  }
}

function busyError(file: string, lock: string, holder: Holder): ReplicaError {
  return new ReplicaError('ERR_BUSY', `${file} is being changed by ${describeHolder(holder)}; try again when it has finished; ${adviceWhenHeld(holder, lock, 'an hvreplica process')}`);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
