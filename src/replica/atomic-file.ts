/**
 * JSON state files of the replica side: read with a clear error when damaged, written atomically
 * (src/util/atomic-file.ts), and a lock file that serialises writers (two CLI invocations editing the
 * same settings at once would otherwise lose one update).
 */
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ReplicaError } from './errors.js';

export { writeFileAtomic } from '../util/atomic-file.js';

export async function readJsonFile<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new ReplicaError('ERR_CORRUPT_STATE', `${path} is not valid JSON (${(error as Error).message}); restore it from a backup or remove it to start over`);
  }
}

const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

/** Runs `body` while holding `<path>.lock`; a lock older than 30 s is a crashed writer's and is broken. */
export async function withFileLock<T>(path: string, body: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  await mkdir(dirname(path), { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const info = await stat(lock).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > LOCK_STALE_MS) {
        await rm(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new ReplicaError('ERR_BUSY', `${lock} is held by another hvreplica process; try again`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    return await body();
  } finally {
    await rm(lock, { force: true });
  }
}
