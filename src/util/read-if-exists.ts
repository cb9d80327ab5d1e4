import { readFile } from 'node:fs/promises';

/** A file's bytes, or undefined when there is no such file (any other failure is thrown). */
export async function readFileIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
