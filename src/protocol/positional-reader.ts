/**
 * A log file read by position instead of as a stream: only the bytes asked for are read, and a skip reads
 * nothing. The replica copying a log's payloads file to file reads only its framing this way (a 56-byte record
 * header per record, and the payloads of compressed records); through a stream every payload byte would pass
 * through this process on the way.
 *
 * Reads of at most SMALL_READ_BYTES are made on the calling thread: a record header read through the pool cost
 * a hand-off there and back per record, which on two busy cores took more CPU than the copy it saved (a 47 MiB
 * delta is 655 records; measured, bench/replication/README.md "Payloads copied file to file"). They are meant
 * for a log this process has just written and read (in the page cache); a cold file costs a disk read each.
 */
import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { LogByteReader } from './chunk-reader.js';
import { LogFormatError } from './errors.js';

const SMALL_READ_BYTES = 4096;

export class PositionalReader implements LogByteReader {
  position = 0;

  private constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
  ) {}

  static async open(path: string): Promise<PositionalReader> {
    const handle = await open(path, 'r');
    try {
      return new PositionalReader(handle, (await handle.stat()).size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async read(n: number, what: string): Promise<Buffer> {
    this.mustHold(n, what);
    const buffer = Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      const at = this.position + done;
      const bytesRead = n <= SMALL_READ_BYTES ? readSync(this.handle.fd, buffer, done, n - done, at) : (await this.handle.read(buffer, done, n - done, at)).bytesRead;
      // The file shrank since it was opened: as truncated as a short file.
      if (bytesRead === 0) this.mustHold(Number.POSITIVE_INFINITY, what);
      done += bytesRead;
    }
    this.position += n;
    return buffer;
  }

  async readPieces(n: number, what: string): Promise<Buffer[]> {
    return [await this.read(n, what)];
  }

  async skip(n: number, what: string): Promise<void> {
    this.mustHold(n, what);
    this.position += n;
  }

  async atEnd(): Promise<boolean> {
    return this.position >= this.size;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  private mustHold(n: number, what: string): void {
    if (this.position + n > this.size) {
      throw new LogFormatError('ERR_LOG_TRUNCATED', `log ends in the middle of the ${what}: it was cut short; send it again from the start`, this.size);
    }
  }
}
