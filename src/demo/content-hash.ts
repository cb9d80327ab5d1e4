/** SHA-256 of a whole virtual disk's content, read in bounded chunks: what "equal" means in the demo and tests. */
import { createHash } from 'node:crypto';

export interface ReadableDisk {
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

const CHUNK = 4 * 1024 * 1024;

export async function hashDisk(disk: ReadableDisk, virtualSize: number): Promise<string> {
  const hash = createHash('sha256');
  try {
    for (let at = 0; at < virtualSize; at += CHUNK) hash.update(await disk.read(at, Math.min(CHUNK, virtualSize - at)));
  } finally {
    await disk.close();
  }
  return hash.digest('hex');
}
