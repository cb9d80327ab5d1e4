/**
 * The uploads the replica server is writing into a replica's folder right now, as files another process can
 * see: one mark per upload request, `<folder>.uploads/<pid>-<random>.json`, beside the folder (like its storage
 * lock) so that deleting the folder leaves the marks to say what still writes there.
 *
 * Remove-VMReplication runs in another process (the CLI) and deletes the folder. It must not do so under an
 * upload: on Windows a file another process holds open cannot be deleted, nor then its folder, so the removal
 * would fail half-way; anywhere, an upload still running would create the folder again and leave its partial
 * log behind. So the removal writes its tombstone first, then waits until no mark is left (`waitForUploads`):
 * every upload that holds a mark then sees the tombstone, at its start or within a second while its body
 * arrives (refusal-watch.ts), and ends, and one that begins after it is refused before it writes a byte.
 * A mark whose process is gone (a crash) is deleted, never waited for: judged by its id and start
 * (src/util/holder-file.ts processRuns), so that after a reboot a mark whose id now names an unrelated process
 * is not waited for in vain; a mark of an earlier version names the id only and is judged by it alone.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { identityOfThisProcess, processRuns, type ProcessIdentity } from '../util/holder-file.js';
import { isDiskFull } from '../storage/errors.js';
import { readJsonFile } from './atomic-file.js';
import { ReplicaError } from './errors.js';

export interface UploadMark extends ProcessIdentity {
  /** What is uploaded (disk and position), for the message of a removal that waited too long. */
  upload: string;
  since: string;
}

export function uploadMarksDir(folder: string): string {
  return `${resolve(folder)}.uploads`;
}

/** The marks this process holds now: a server starting tells them from an earlier one's by these, not by process id. */
const ours = new Set<string>();

/** Runs `body` (an upload into `folder`) while its mark says so. */
export async function withUploadMark<T>(folder: string, upload: string, body: () => Promise<T>): Promise<T> {
  const dir = uploadMarksDir(folder);
  const path = join(dir, `${process.pid}-${randomBytes(8).toString('hex')}.json`);
  ours.add(path);
  const mark: UploadMark = { ...identityOfThisProcess(), upload, since: new Date().toISOString() };
  // Not synced: a mark only matters while its process lives, and a crash makes it one to ignore. Written
  // whole before the upload looks for a tombstone (ReplicaService.upload), which is what makes skipping an
  // unreadable mark below safe. A removal that found no mark deletes the marks' folder: made again then.
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await mkdir(dir, { recursive: true });
        await writeFile(path, JSON.stringify(mark), { flag: 'wx', mode: 0o600 });
        break;
      } catch (error) {
        // A full volume refuses the mark before the log: the primary must hear "disk full", as from the log.
        if (isDiskFull(error)) throw new ReplicaError('ERR_DISK_FULL', `the replica's storage location is full (${(error as Error).message}); free space there, the upload resumes where it stopped`);
        if (attempt >= 3 || (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    return await body();
  } finally {
    await rm(path, { force: true });
    ours.delete(path);
  }
}

/**
 * For a replica server starting: the marks in `folders` but those of this process's uploads go. Only the replica
 * server writes marks, one server serves a state directory (on its port), and none of its uploads has
 * begun yet, so any mark there was left by an earlier server that crashed. Its process id alone cannot say so:
 * after a crash, and above all after a reboot, another process may have that id (Windows reuses ids soon), and
 * a removal would wait for that mark in vain. Restarting the server is what such a removal's message advises.
 */
export async function dropMarksOfEarlierServers(folders: readonly string[]): Promise<void> {
  for (const folder of folders) {
    const dir = uploadMarksDir(folder);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      // Even one named by this process's id: a crashed server may have had it.
      if (name.endsWith('.json') && !ours.has(join(dir, name))) await rm(join(dir, name), { force: true });
    }
  }
}

/** The uploads into `folder` whose process still runs; marks of processes gone are deleted. */
export async function uploadsInFlight(folder: string): Promise<UploadMark[]> {
  const dir = uploadMarksDir(folder);
  const out: UploadMark[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith('.json')) continue;
    const mark = await readJsonFile<UploadMark>(join(dir, name)).catch(() => undefined);
    // Unreadable: being written right now (or deleted). Its upload has not yet looked for the tombstone, which
    // the removal wrote before it waits here, so that upload is refused before it writes a byte.
    if (mark === undefined) continue;
    if (processRuns(mark)) out.push(mark);
    else await rm(join(dir, name), { force: true });
  }
  return out;
}

/**
 * Waits until no upload into `folder` is in flight, at most `waitMs`; returns those still running then (none:
 * the folder may go). The marks' folder goes with the last mark.
 */
export async function waitForUploads(folder: string, waitMs: number, pollMs = 100): Promise<UploadMark[]> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const running = await uploadsInFlight(folder);
    if (running.length === 0) {
      await rm(uploadMarksDir(folder), { recursive: true, force: true });
      return [];
    }
    if (Date.now() >= deadline) return running;
    await new Promise((done) => setTimeout(done, pollMs));
  }
}

/**
 * How long an operation that deletes a replica's folder (Remove-VMReplication, Complete-VMFailover) waits for
 * the uploads into it: long enough for an upload whose primary stopped sending to end by the replica server's
 * idle timeout (60 s); one that streams ends within a second of the refusal (refusal-watch.ts).
 */
export const UPLOAD_WAIT_MS = 90_000;

/**
 * waitForUploads, then what still runs said for a message (`count`: "an upload" or "2 uploads"; `which`: "disk …
 * cycle g/s (process p, since t), …"), or undefined when none does.
 */
export async function uploadsStillRunning(folder: string, waitMs: number): Promise<{ count: string; which: string } | undefined> {
  const running = await waitForUploads(folder, waitMs);
  if (running.length === 0) return undefined;
  return {
    count: running.length === 1 ? 'an upload' : `${running.length} uploads`,
    which: running.map((m) => `${m.upload} (process ${m.pid}, since ${m.since})`).join(', '),
  };
}

/**
 * After the folder itself was deleted (Complete-VMFailover, a held chain finished): the marks' folder goes
 * too, when no upload holds a mark there any more, so nothing of the replica is left beside its storage
 * location's folders. One an upload still holds stays (its mark goes when that upload ends).
 */
export async function dropUploadMarks(folder: string): Promise<void> {
  // Tidying only, after the operation it follows is done: whatever stops it (gone already, a mark written
  // meanwhile, on Windows a mark still being deleted) leaves at most an empty folder, never a failure.
  await uploadsInFlight(folder)
    .then((running) => (running.length === 0 ? rmdir(uploadMarksDir(folder)) : undefined))
    .catch(() => undefined);
}
