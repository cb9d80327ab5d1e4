/**
 * Exact-length reads over an async stream of chunks, holding at most the bytes asked for plus one
 * chunk. Running out of input mid-read is a truncated log, never a short buffer.
 */
import { LogFormatError } from './errors.js';

/** What the log decoder reads a log through: exact-length reads and skips, front to back. */
export interface LogByteReader {
  /** Bytes handed out or passed over so far: the position in the log. */
  readonly position: number;
  read(n: number, what: string): Promise<Buffer>;
  /** The next `n` bytes, possibly in several pieces. */
  readPieces(n: number, what: string): Promise<Buffer[]>;
  /** Passes over `n` bytes; a log that ends among them is truncated (here, or at the next read). */
  skip(n: number, what: string): Promise<void>;
  atEnd(): Promise<boolean>;
  close(): Promise<void>;
}

export class ChunkReader implements LogByteReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  /** Bytes handed out so far: the position in the log. */
  position = 0;

  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.iterator = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : toAsync(source[Symbol.iterator]());
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.done) {
      const next = await this.iterator.next();
      if (next.done) {
        this.done = true;
        break;
      }
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      if (chunk.length === 0) continue;
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    return this.buffered >= n;
  }

  async read(n: number, what: string): Promise<Buffer> {
    const pieces = await this.readPieces(n, what);
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, n);
  }

  /**
   * The next `n` bytes as the pieces they arrived in (views, no copy): a record's payload spans many network
   * chunks, and joining them copied every byte into a buffer of its own that the caller may not need.
   */
  async readPieces(n: number, what: string): Promise<Buffer[]> {
    if (!(await this.fill(n))) {
      throw new LogFormatError('ERR_LOG_TRUNCATED', `log ends in the middle of the ${what}: it was cut short; send it again from the start`, this.position + this.buffered);
    }
    const pieces: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const first = this.chunks[0]!;
      if (first.length <= left) {
        pieces.push(first);
        this.chunks.shift();
        left -= first.length;
      } else {
        pieces.push(first.subarray(0, left));
        this.chunks[0] = first.subarray(left);
        left = 0;
      }
    }
    this.buffered -= n;
    this.position += n;
    return pieces;
  }

  /** Passes over `n` bytes without copying them (a hollow log's missing payloads). */
  async skip(n: number, what: string): Promise<void> {
    let left = n;
    while (left > 0) {
      if (!(await this.fill(1))) {
        throw new LogFormatError('ERR_LOG_TRUNCATED', `log ends in the middle of the ${what}: it was cut short; send it again from the start`, this.position);
      }
      const first = this.chunks[0]!;
      const take = Math.min(first.length, left);
      if (take === first.length) this.chunks.shift();
      else this.chunks[0] = first.subarray(take);
      this.buffered -= take;
      this.position += take;
      left -= take;
    }
  }

  /** True when the source has no more bytes. */
  async atEnd(): Promise<boolean> {
    return !(await this.fill(1));
  }

  /** Lets the source release what it holds (file handles, sockets) when decoding stops early. */
  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.iterator.return?.();
    }
  }
}

function toAsync(iterator: Iterator<Uint8Array>): AsyncIterator<Uint8Array> {
  return {
    next: async () => iterator.next(),
    return: async () => iterator.return?.() ?? { done: true, value: undefined },
  };
}
