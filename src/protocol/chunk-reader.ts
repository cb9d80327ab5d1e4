/**
 * Exact-length reads over an async stream of chunks, holding at most the bytes asked for plus one
 * chunk. Running out of input mid-read is a truncated log, never a short buffer.
 */
import { LogFormatError } from './errors.js';

/**
 * A source of chunks that can also pass over bytes without producing them (file-chunks.ts: a file read at
 * increasing positions seeks over a hollow log's payload holes instead of reading them as zeros).
 */
export interface SkippingChunks extends AsyncIterator<Uint8Array> {
  /** Passes over up to `n` of the bytes not handed out yet; resolves with how many it passed (fewer at the end). */
  skip(n: number): Promise<number>;
}

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
  /** The iterator again when it can pass over bytes unread. */
  private readonly skipper: SkippingChunks | undefined;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  /** Bytes handed out so far: the position in the log. */
  position = 0;

  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.iterator = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : toAsync(source[Symbol.iterator]());
    this.skipper = typeof (this.iterator as Partial<SkippingChunks>).skip === 'function' ? (this.iterator as SkippingChunks) : undefined;
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

  /** Passes over `n` bytes without copying them (a hollow log's missing payloads), unread when the source can skip. */
  async skip(n: number, what: string): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && this.skipper !== undefined && !this.done) {
        const passed = await this.skipper.skip(left);
        this.position += passed;
        left -= passed;
        // Fewer bytes left than asked: the source is at its end, and the read below says the log is cut short.
        if (left === 0) break;
      }
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
