/**
 * One replication cycle of a VM at a time across processes (the agent, a scheduled `replicate`, an
 * `initial start`): a lock file naming the holder's process id. A lock whose process is gone was left
 * by a crash and is taken over; a cycle may run for hours, so age alone never breaks a lock.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AgentError } from './errors.js';
import { processAlive } from '../util/process-alive.js';


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

export async function withCycleLock<T>(path: string, vmName: string, body: () => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  if (!(await create(path))) {
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    const busy = () => new AgentError('ERR_BUSY', `a replication cycle of VM '${vmName}' is already running in process ${holder}; wait for it to finish`);
    if (Number.isInteger(holder) && holder > 0 && processAlive(holder)) throw busy();
    await rm(path, { force: true });
    if (!(await create(path))) throw busy();
  }
  try {
    return await body();
  } finally {
    await rm(path, { force: true });
  }
}
