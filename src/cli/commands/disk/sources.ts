/** Raw files and VHDX chains behind one small read interface, for convert and compare. */
import { open, type FileHandle } from 'node:fs/promises';
import { openDisk } from '../../../vhdx/index.js';

export interface DiskSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Buffer>;
  /** Ranges that may hold non-zero bytes (everything, for raw files). */
  dataExtents(): Promise<{ offset: number; length: number }[]>;
  close(): Promise<void>;
}

async function isVhdx(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const sig = Buffer.alloc(8);
    const { bytesRead } = await fh.read(sig, 0, 8, 0);
    return bytesRead === 8 && sig.toString('latin1') === 'vhdxfile';
  } finally {
    await fh.close();
  }
}

class RawSource implements DiskSource {
  constructor(private readonly fh: FileHandle, readonly size: number) {}
  async read(offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buf;
  }
  async dataExtents(): Promise<{ offset: number; length: number }[]> {
    return [{ offset: 0, length: this.size }];
  }
  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Opens `path` as a VHDX (by its signature) or as a raw image. */
export async function openSource(path: string): Promise<DiskSource> {
  if (await isVhdx(path)) {
    const disk = await openDisk(path);
    return {
      size: disk.info.virtualSize,
      read: (offset, length) => disk.read(offset, length),
      dataExtents: async () => (await disk.map()).filter((e) => e.state === 'data'),
      close: () => disk.close(),
    };
  }
  const fh = await open(path, 'r');
  return new RawSource(fh, (await fh.stat()).size);
}
