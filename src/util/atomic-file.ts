/**
 * Whole-file replacement that survives a crash at any instant: the reader sees either the old or the
 * new content, never a torn mix. Write a sibling temp file, fsync it, rename it over the target, then
 * fsync the directory so that the rename itself is durable (POSIX; Windows has no directory fsync and
 * MoveFileEx with MOVEFILE_WRITE_THROUGH, which node's rename uses, is enough there).
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
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

/** State files may hold names, keys' paths and positions: readable by the owner only unless told otherwise. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await fsyncDirectory(dirname(path));
}
