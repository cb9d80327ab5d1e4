/**
 * Whole-file replacement that survives a crash at any instant: the reader sees either the old or the
 * new content, never a torn mix. Write a sibling temp file, fsync it, rename it over the target, then
 * fsync the directory so that the rename itself is durable (POSIX; Windows has no directory fsync and
 * MoveFileEx with MOVEFILE_WRITE_THROUGH, which node's rename uses, is enough there).
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function fsyncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A replacement written ahead and put in place later: the temp file is written and fsynced at once, the
 * rename and the directory's fsync happen in `commit`. For a state that may only take effect after some
 * event (the replica's acknowledgement of a cycle) but whose content is known before it: what is left to
 * do after the event is a rename and one fsync instead of a write and two. Until `commit` nothing a reader
 * opens has changed; `abandon` removes the temp file (a crash leaves it behind, named so nobody reads it).
 */
export interface PreparedFile {
  commit(): Promise<void>;
  /**
   * Puts the file in place only if no file has the name yet (a link, which fails when the name exists, where
   * commit renames over it); false when one does. Of two processes that create one name at once, one wins.
   */
  commitNew(): Promise<boolean>;
  abandon(): Promise<void>;
}

/** State files may hold names, keys' paths and positions: readable by the owner only unless told otherwise. */
/** The temp file names of replacements of `path` (see prepareFileAtomic). */
function isTempOf(path: string, name: string): boolean {
  return name.startsWith(`.${basename(path)}.`) && name.endsWith('.tmp');
}

/** Removes temp files of replacements of `path` that a killed writer left, unchanged for `olderThanMs` (0: all). */
export async function removeStaleTemps(path: string, olderThanMs: number): Promise<void> {
  const dir = dirname(path);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.filter((n) => isTempOf(path, n))) {
    const file = join(dir, name);
    const info = await stat(file).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs >= olderThanMs) await rm(file, { force: true });
  }
}

/**
 * `durable: false` skips the fsyncs (of the file and of its folder) for a file that only live processes read:
 * a reader still never finds it half written, and after a power loss it may be absent or empty.
 */
export interface AtomicFileOptions {
  durable?: boolean;
}

export async function prepareFileAtomic(path: string, data: string | Uint8Array, mode = 0o600, options: AtomicFileOptions = {}): Promise<PreparedFile> {
  const durable = options.durable ?? true;
  await mkdir(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.${randomBytes(4).toString('hex')}.tmp`);
  const abandon = () => rm(temp, { force: true });
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(data);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    await abandon();
    throw error;
  }
  return {
    commit: async () => {
      try {
        await rename(temp, path);
      } catch (error) {
        await abandon();
        throw error;
      }
      if (durable) await fsyncDirectory(dirname(path));
    },
    commitNew: async () => {
      try {
        await link(temp, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw error;
      } finally {
        await abandon();
      }
      if (durable) await fsyncDirectory(dirname(path));
      return true;
    },
    abandon,
  };
}

/**
 * Creates `path` holding `data` unless a file has that name already (false then), so that no reader ever finds
 * it empty or half written: written whole beside it and linked in; durable (fsynced, the link too) unless told.
 */
export async function createFileAtomic(path: string, data: string | Uint8Array, mode = 0o600, options: AtomicFileOptions = {}): Promise<boolean> {
  return (await prepareFileAtomic(path, data, mode, options)).commitNew();
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  await (await prepareFileAtomic(path, data, mode)).commit();
}
