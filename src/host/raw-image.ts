/**
 * A raw disk image file (every byte of the virtual disk, in order) as a DiskImage. Lets the hash tracker
 * and tests work on images that are not VHDX (dd copies, qemu raw files).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { NativeError } from '../native/native-error.js';
import type { DiskImage } from './disk-image.js';

export class RawFileImage implements DiskImage {
  private constructor(
    private readonly file: FileHandle,
    readonly path: string,
    readonly virtualSize: number,
    readonly logicalSectorSize: 512 | 4096,
  ) {}

  static async open(path: string, logicalSectorSize: 512 | 4096 = 512): Promise<RawFileImage> {
    const file = await open(path, 'r');
    const { size } = await file.stat();
    if (size % logicalSectorSize !== 0) {
      await file.close();
      throw new NativeError(`raw image '${path}' is ${size} bytes, not a whole number of ${logicalSectorSize}-byte sectors`, {
        code: 'ERR_INVALID_ARGUMENT',
      });
    }
    return new RawFileImage(file, path, size, logicalSectorSize);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    this.checkRange(offset, length);
    const buffer = Buffer.allocUnsafe(length);
    await this.readInto(offset, buffer);
    return buffer;
  }

  async readInto(offset: number, buffer: Buffer): Promise<void> {
    const length = buffer.length;
    this.checkRange(offset, length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.file.read(buffer, done, length - done, offset + done);
      if (bytesRead === 0) throw new NativeError(`raw image '${this.path}' ended early at ${offset + done}`, { code: 'ERR_IO' });
      done += bytesRead;
    }
  }

  private checkRange(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.virtualSize) {
      throw new NativeError(`read of ${length} bytes at ${offset} is outside raw image '${this.path}' (${this.virtualSize} bytes)`, {
        code: 'ERR_INVALID_ARGUMENT',
      });
    }
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}
