/**
 * JSON state files of the replica side: read with a clear error when damaged, written atomically
 * (src/util/atomic-file.ts), and a lock file that serialises writers (src/replica/state-file-lock.ts).
 */
import { readFile } from 'node:fs/promises';
import { ReplicaError } from './errors.js';

export { writeFileAtomic } from '../util/atomic-file.js';
export { withFileLock } from './state-file-lock.js';

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
