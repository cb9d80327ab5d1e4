/**
 * Exact-length reads over an async stream of chunks, holding at most the bytes asked for plus one
 * chunk. Running out of input mid-read is a truncated log, never a short buffer.
 */
import { LogFormatError } from './errors.js';

/**
 * Bytes as they arrive, in order: single chunks, or batches of chunks that arrived together (a replica server
 * hands over every HTTP/2 frame of a socket read at once, one async step for all of them: body-chunks.ts).
 */
export type ArrivingBytes = AsyncIterable<Uint8Array | readonly Uint8Array[]>;

export type ChunkSource = ArrivingBytes | Iterable<Uint8Array>;

export class ChunkReader {
  private readonly iterator: AsyncIterator<Uint8Array | readonly Uint8Array[]>;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  /** Bytes handed out so far: the position in the log. */
  position = 0;

  constructor(source: ChunkSource) {
    this.iterator = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : toAsync(source[Symbol.iterator]());
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.done) {
      const next = await this.iterator.next();
      if (next.done) {
        this.done = true;
        break;
      }
      const value = next.value;
      if (isBatch(value)) for (const piece of value) this.add(piece);
      else this.add(value);
    }
    return this.buffered >= n;
  }

  private add(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.chunks.push(Buffer.isBuffer(piece) ? piece : Buffer.from(piece));
    this.buffered += piece.length;
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

function isBatch(value: Uint8Array | readonly Uint8Array[]): value is readonly Uint8Array[] {
  return Array.isArray(value);
}
