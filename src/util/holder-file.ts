/**
 * A file that names the process holding something (a storage folder, a state directory's replica server):
 * created exclusively, so of two processes that try at once only one holds it, and read back by the others
 * to say who holds it or to find that its holder is gone.
 *
 * A holder file is written whole beside its place, then linked into it (link fails when the name exists;
 * src/util/atomic-file.ts createFileAtomic), so no other process ever reads it half written. It is not
 * fsynced: only live processes hold anything, so what a power loss leaves of it (whole, empty, or nothing)
 * holds nothing after the restart either, and two fsyncs per take would sit on the replica's acknowledgement
 * of every log (the storage lock). An unreadable one (empty or torn) was left that way, by a crash of an
 * earlier version or by a damaged volume, never by a holder still writing it (which, on a loaded host, could
 * take longer than any grace given to it): it holds nothing, and is taken over with a warning
 * (brokenHolderMessage). The stores that use these files link received logs into the same
 * folders, so hard links are there already.
 *
 * A holder is its process id together with that process's start (src/native/process-start.ts): after a
 * crash and a reboot, or just a long time, the id of a crashed holder may belong to an unrelated process,
 * which must not keep the file held. Files written before the start was recorded name the id only and are
 * judged by it alone, as then. Every file that names a process for others to judge (claims, locks, the cycle
 * lock, upload marks, the server's runtime file) judges it here (processRuns), by the same identity.
 *
 * Taking over a file left by a crash is a read, a check that its process is gone, and a removal; two
 * processes that both read the same dead holder must not both remove, or the second removes the claim the
 * first has just made, and both go on as holders. So a removal is made under a second, short-lived holder
 * file (`<path>.takeover`), after reading the holder again: one that changed in between is left alone.
 * A guard left by a crashed claimant is itself taken over the same way, under `<guard>.takeover`: removing
 * it without a guard of its own would let two claimants that both found it stale each remove what the
 * other had just created, and both take over at once.
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { processStartIdentity } from '../native/process-start.js';
import { createFileAtomic } from './atomic-file.js';
import { processAlive } from './process-alive.js';

/** A process as a file names it for other processes: its id, and its start where the file records it. */
export interface ProcessIdentity {
  pid: number;
  /** The process's start identity (processStartIdentity); absent in files of earlier versions, and where the system does not say. */
  start?: string;
}

/** This process, as a file names it. */
export function identityOfThisProcess(): ProcessIdentity {
  const start = processStartIdentity(process.pid);
  return { pid: process.pid, ...(start === undefined ? {} : { start }) };
}

/**
 * Whether the process a file names still runs: its id names a live process and, when the file recorded its
 * start, that process started then (after a crash and a reboot, or a long time, the id may name a stranger).
 * Without a recorded start, only the id is judged, as files of earlier versions always were.
 */
export function processRuns(named: ProcessIdentity): boolean {
  if (!Number.isInteger(named.pid) || named.pid <= 0 || !processAlive(named.pid)) return false;
  if (named.start === undefined) return true;
  const now = processStartIdentity(named.pid);
  // Unknown (a protected process on Windows): it may be the one named, so it runs.
  return now === undefined || now === named.start;
}

export interface Holder extends ProcessIdentity {
  purpose: string;
  since: string;
  /** The host the holder ran on, for messages; absent in files of earlier versions. */
  host?: string;
}

/** This process as the holder of something, for `purpose`. */
export function holderOfThisProcess(purpose: string): Holder {
  return { ...identityOfThisProcess(), purpose, since: new Date().toISOString(), host: hostname() };
}

/**
 * Whether the process a holder file names runs no more. Our own id names a file left by an earlier process
 * that had it (or by this one, when it could not remove its own): this process holds nothing it did not
 * take in this call. Without a recorded start, only the id is judged.
 */
export function holderGone(holder: Holder): boolean {
  return holder.pid === process.pid || !processRuns(holder);
}

/** "process 12 on host h (replica server, since …)", for messages. */
export function describeHolder(holder: Holder): string {
  return `process ${holder.pid}${holder.host ? ` on ${holder.host}` : ''} (${holder.purpose}, since ${holder.since})`;
}

/**
 * What to do about the file at `path` held by the live `holder` (`what` says what it should be, e.g. "an
 * hvreplica server"), for ERR_BUSY messages. A file naming the id only may name a stranger that got the id
 * after a crash; one with the start names that very process.
 */
export function adviceWhenHeld(holder: Holder, path: string, what: string): string {
  return holder.start === undefined
    ? `if process ${holder.pid} is not ${what}, delete ${path}`
    : `if process ${holder.pid} hangs, stop it (its file ${path} is then taken over)`;
}

/**
 * Creates `path` naming `holder`, whole (not fsynced, see above); false when it exists already. Readable by
 * every local user (as before): an administrator's command that cannot read a holder file would take it for
 * a broken one.
 */
export function createHolderFile(path: string, holder: Holder): Promise<boolean> {
  return createFileAtomic(path, JSON.stringify(holder), 0o644, { durable: false });
}

/** What a cycle lock of an earlier version (the holder's id as text, nothing else) is read as. */
const EARLIER_VERSION: Pick<Holder, 'purpose' | 'since'> = { purpose: 'a holder of an earlier version, named by its process id only', since: 'an unknown time' };

function parseHolder(text: string): Holder | undefined {
  if (/^\s*\d+\s*$/.test(text)) {
    const pid = Number(text);
    return pid > 0 ? { pid, ...EARLIER_VERSION } : undefined;
  }
  try {
    const value = JSON.parse(text) as Holder;
    return value !== null && typeof value === 'object' && Number.isInteger(value.pid) && value.pid > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The holder a file names; undefined when there is no file, or it names no holder (empty or torn: it holds
 * nothing, brokenHolderMessage says so), or it cannot be read now (on Windows, one being deleted).
 */
export async function readHolderFile(path: string): Promise<Holder | undefined> {
  try {
    return parseHolder(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** For the log when a holder file that names no holder (empty or torn) is taken over. */
export function brokenHolderMessage(path: string): string {
  return `${path} names no holder (it is empty or torn: a power loss or a crash of an earlier version left it so); it holds nothing and is taken over`;
}

/**
 * Gives up the holder file at `path` if it still names `holder` (this process's), and only then: after a
 * stall it may have been taken over (deleted by an administrator, as the advice says, and claimed by
 * another process), and the file is then the new holder's. No takeover guard is needed: while this process
 * runs, no other takes over a file that names it, so only that deletion and a new claim can come between
 * the read and the removal.
 */
export async function releaseHolderFile(path: string, holder: Holder): Promise<void> {
  if (sameHolder(await readHolderFile(path), holder)) await rm(path, { force: true });
}

/** One version of a holder file as found: the same file (inode) with the same text is the same version. */
interface FileVersion {
  ino: number;
  text: string;
  mtimeMs: number;
}

async function fileVersion(path: string): Promise<FileVersion | undefined> {
  try {
    const [info, text] = await Promise.all([stat(path), readFile(path, 'utf8')]);
    return { ino: info.ino, text, mtimeMs: info.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function sameVersion(a: FileVersion, b: FileVersion): boolean {
  return a.ino === b.ino && a.text === b.text;
}

/** Whether two reads of a holder file name one holder (the same process, taking it at the same time for the same purpose). */
export function sameHolder(a: Holder | undefined, b: Holder | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.pid === b.pid && a.since === b.since && a.purpose === b.purpose && a.start === b.start);
}

/**
 * A takeover lasts milliseconds. A guard whose writer's identity is not recorded (an earlier version's, or
 * torn: earlier versions did not flush what they linked in) is taken as left by a crash once it is older than
 * this, even when its id names a live process: that may be a stranger that got the id.
 */
export const TAKEOVER_GUARD_BOUND_MS = 30_000;
/** Guards of guards: each level is a claimant that crashed while taking over the one below. */
const MAX_GUARD_LEVELS = 3;

function guardLeftByCrash(found: FileVersion): boolean {
  const writer = parseHolder(found.text);
  if (writer?.start !== undefined) return holderGone(writer);
  const old = Math.abs(Date.now() - found.mtimeMs) > TAKEOVER_GUARD_BOUND_MS;
  return old || (writer !== undefined && holderGone(writer));
}

/**
 * Creates the takeover guard `guard`, taking over one left by a crashed claimant (under a guard of its own).
 * False while a live process holds it: the caller waits a little and tries again.
 */
async function enterGuard(guard: string, purpose: string, level: number): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    if (await createHolderFile(guard, holderOfThisProcess(purpose))) return true;
    const found = await fileVersion(guard);
    if (found === undefined) continue;
    if (!guardLeftByCrash(found) || level + 1 >= MAX_GUARD_LEVELS) return false;
    const outer = `${guard}.takeover`;
    if (!(await enterGuard(outer, `taking over ${guard}`, level + 1))) return false;
    try {
      const now = await fileVersion(guard);
      if (now !== undefined && sameVersion(now, found)) await rm(guard, { force: true });
    } finally {
      await rm(outer, { force: true });
    }
  }
  return false;
}

/** Takeovers this process runs now (by holder file), so that its own guard is never mistaken for a crashed one's. */
const takingOver = new Set<string>();

/**
 * Removes the holder file at `path` if it still names `seen` (the dead holder the caller read, or undefined
 * for a file it found unreadable), and only then. Returns whether the caller may try to create it again now:
 * false while another process takes it over (the caller waits a little and reads it again).
 */
export async function removeHolderFileIf(path: string, seen: Holder | undefined): Promise<boolean> {
  if (takingOver.has(path)) return false;
  takingOver.add(path);
  try {
    const guard = `${path}.takeover`;
    if (!(await enterGuard(guard, `taking over ${path}`, 0))) return false;
    try {
      // Under the guard only our removal can change a file that exists: a missing one stays missing for us
      // (whoever creates it now is its holder, and its file is not ours to remove).
      const found = await fileVersion(path);
      if (found !== undefined && sameHolder(parseHolder(found.text), seen)) await rm(path, { force: true });
    } finally {
      await rm(guard, { force: true });
    }
    return true;
  } finally {
    takingOver.delete(path);
  }
}

/** Who is taking over the holder file at `path` now (for a message when that lasts too long). */
export function takeoverHolder(path: string): Promise<Holder | undefined> {
  return readHolderFile(`${path}.takeover`);
}
