/**
 * A file that names the process holding something (a storage folder, a state directory's replica server):
 * created exclusively, so of two processes that try at once only one holds it, and read back by the others
 * to say who holds it or to find that its holder is gone.
 */
import { open, readFile } from 'node:fs/promises';

export interface Holder {
  pid: number;
  purpose: string;
  since: string;
}

/** Creates `path` naming `holder`; false when it exists already. */
export async function createHolderFile(path: string, holder: Holder): Promise<boolean> {
  try {
    const handle = await open(path, 'wx');
    try {
      await handle.writeFile(JSON.stringify(holder));
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** The holder a file names; undefined when it is gone, unreadable or still being written. */
export async function readHolderFile(path: string): Promise<Holder | undefined> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as Holder;
    return Number.isInteger(value.pid) && value.pid > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}
