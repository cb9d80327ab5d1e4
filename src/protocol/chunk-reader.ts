/**
 * Exact-length reads over an async stream of chunks, holding at most the bytes asked for plus one
 * chunk. Running out of input mid-read is a truncated log, never a short buffer.
 */
import { LogFormatError } from './errors.js';

export class ChunkReader {
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
    if (n === 0) return Buffer.alloc(0);
    if (!(await this.fill(n))) {
      throw new LogFormatError('ERR_LOG_TRUNCATED', `log ends in the middle of the ${what}: it was cut short; send it again from the start`, this.position + this.buffered);
    }
    let out: Buffer;
    if (this.chunks[0]!.length >= n) {
      const first = this.chunks[0]!;
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const first = this.chunks[0]!;
        const take = Math.min(first.length, n - filled);
        first.copy(out, filled, 0, take);
        filled += take;
        if (take === first.length) this.chunks.shift();
        else this.chunks[0] = first.subarray(take);
      }
    }
    this.buffered -= n;
    this.position += n;
    return out;
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
