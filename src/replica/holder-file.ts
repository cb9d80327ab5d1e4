/**
 * A file that names the process holding something (a storage folder, a state directory's replica server):
 * created exclusively, so of two processes that try at once only one holds it, and read back by the others
 * to say who holds it or to find that its holder is gone.
 *
 * A holder file is written whole beside its place and then linked into it (link fails when the name exists),
 * so no other process ever reads it half written: an unreadable one was torn by a crash, never a holder
 * still writing it (which, on a loaded host, could take longer than any grace given to it). The stores that
 * use these files link received logs into the same folders, so hard links are there already.
 *
 * Taking over a file left by a crash is a read, a check that its process is gone, and a removal; two
 * processes that both read the same dead holder must not both remove, or the second removes the claim the
 * first has just made, and both go on as holders. So a removal is made under a second, short-lived holder
 * file (`<path>.takeover`), after reading the holder again: one that changed in between is left alone.
 */
import { randomUUID } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { processAlive } from '../util/process-alive.js';

export interface Holder {
  pid: number;
  purpose: string;
  since: string;
}

/** Creates `path` naming `holder`; false when it exists already. */
export async function createHolderFile(path: string, holder: Holder): Promise<boolean> {
  const whole = `${path}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(whole, JSON.stringify(holder), { flag: 'wx' });
  try {
    await link(whole, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(whole, { force: true });
  }
}

/** The holder a file names; undefined when it is gone or unreadable (torn by a crash). */
export async function readHolderFile(path: string): Promise<Holder | undefined> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as Holder;
    return Number.isInteger(value.pid) && value.pid > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

function sameHolder(a: Holder | undefined, b: Holder | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.pid === b.pid && a.since === b.since && a.purpose === b.purpose);
}

/** Takeovers this process runs now (by holder file), so that its own guard is never mistaken for a crashed one's. */
const takingOver = new Set<string>();

/**
 * Removes the holder file at `path` if it still names `seen` (the dead holder the caller read, or undefined
 * for a file it found unreadable), and only then. Returns whether the caller may try to create it again now:
 * false while another process takes it over (the caller waits a little and reads it again).
 */
export async function removeHolderFileIf(path: string, seen: Holder | undefined): Promise<boolean> {
  const guard = `${path}.takeover`;
  if (takingOver.has(guard)) return false;
  takingOver.add(guard);
  try {
    if (!(await createHolderFile(guard, { pid: process.pid, purpose: `taking over ${path}`, since: new Date().toISOString() }))) {
      const other = await readHolderFile(guard);
      // A takeover lasts milliseconds: a guard whose process is gone (or ours, from an earlier process with our id) was left by a crash.
      if (other && other.pid !== process.pid && processAlive(other.pid)) return false;
      await rm(guard, { force: true });
      return false;
    }
    try {
      if (sameHolder(await readHolderFile(path), seen)) await rm(path, { force: true });
    } finally {
      await rm(guard, { force: true });
    }
    return true;
  } finally {
    takingOver.delete(guard);
  }
}
