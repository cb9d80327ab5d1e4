/**
 * A log spooled to a file while it is uploaded. The encoder writes the spool; the upload reads it from
 * any offset and follows it as it grows, so the first bytes go on the wire while the disk is still
 * being read and encoded instead of after the whole log is on the primary's disk. The spool stays what
 * lets a failed upload resume at the replica's offset without reading the frozen disk again: a retry
 * opens the spool at that offset, whether the encoder is still writing or done. The last bytes written are
 * also kept in memory for a while (RECENT_BYTES): an upload that keeps up with the encoder, the usual case,
 * takes them from there instead of reading back from the file what was just written (a copy of every byte).
 * The encoder never waits for an upload; one that falls further behind reads the file.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { writeAll } from '../replica/coalescing-writer.js';
import type { LogKey } from '../replica/index.js';
import { lastBytesAfter, newUploadId, trailerHash, type CompleteLog, type LogSource } from './log-source.js';

/** Read size of a follower: large enough that HTTP/2 framing, not syscalls, sets the pace. */
const READ_BYTES = 1024 * 1024;
/** How much of what was last written followers may take from memory. */
const RECENT_BYTES = 16 * 1024 * 1024;

export class LogSpool {
  readonly source: LogSource;
  /** Bytes written to the file so far (what a follower may read). */
  private written = 0;
  private tail: Buffer = Buffer.alloc(0);
  /** The last chunks written, oldest first, each with its offset in the log; they are never changed after. */
  private recent: { at: number; buf: Buffer }[] = [];
  private recentBytes = 0;
  private done: CompleteLog | undefined;
  private failure: Error | undefined;
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly path: string,
    private readonly handle: FileHandle,
    key: LogKey,
  ) {
    this.source = {
      key,
      uploadId: newUploadId(),
      complete: () => this.done,
      finished: () => this.finished(),
      open: (offset) => Readable.from(this.follow(offset), { objectMode: false }),
    };
  }

  /** Creates (or truncates) the spool file; followers may open it from now on. */
  static async create(path: string, key: LogKey): Promise<LogSpool> {
    return new LogSpool(path, await open(path, 'w', 0o600), key);
  }

  /**
   * Where the encoder writes. Not fsynced, on purpose: the spool only lets an upload resume within this
   * process's attempt; after a crash the cycle is encoded again. A failed or aborted write fails every
   * follower with it. The file closes when the writer ends either way.
   */
  writer(): Writable {
    return new Writable({
      highWaterMark: READ_BYTES,
      writev: (entries, callback) => {
        this.append(entries.map((e) => e.chunk as Buffer)).then(() => callback(), callback);
      },
      final: (callback) => {
        this.finish().then(() => callback(), callback);
      },
      destroy: (error, callback) => {
        if (error) this.fail(error);
        else if (!this.done) this.fail(new Error('the log was not written to its end'));
        this.handle.close().then(() => callback(error), () => callback(error));
      },
    });
  }

  private async append(buffers: Buffer[]): Promise<void> {
    await writeAll(this.handle, buffers, this.written);
    for (const buf of buffers) {
      this.recent.push({ at: this.written, buf });
      this.recentBytes += buf.length;
      this.written += buf.length;
    }
    while (this.recentBytes - this.recent[0]!.buf.length >= RECENT_BYTES) this.recentBytes -= this.recent.shift()!.buf.length;
    for (const buf of buffers) this.tail = lastBytesAfter(this.tail, buf);
    this.wake();
  }

  private async finish(): Promise<void> {
    this.done = { length: this.written, hash: trailerHash(this.tail) };
    this.wake();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const resolve of waiting) resolve();
  }

  private async finished(): Promise<CompleteLog> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.done) return this.done;
      await this.grown();
    }
  }

  private grown(): Promise<void> {
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** The written bytes from `at` to the end of the chunk holding them, if that chunk is still in memory. */
  private fromMemory(at: number): Buffer | undefined {
    for (let i = this.recent.length - 1; i >= 0; i -= 1) {
      const { at: start, buf } = this.recent[i]!;
      if (start <= at) return at < start + buf.length ? buf.subarray(at - start) : undefined;
    }
    return undefined;
  }

  /** The spool from `offset`, waiting for bytes the encoder has not written yet, up to the log's end. */
  private async *follow(offset: number): AsyncGenerator<Buffer> {
    const handle = await open(this.path, 'r');
    try {
      let at = offset;
      for (;;) {
        if (this.failure) throw this.failure;
        const available = this.written - at;
        const kept = available > 0 ? this.fromMemory(at) : undefined;
        if (kept) {
          at += kept.length;
          yield kept;
        } else if (available > 0) {
          const buf = Buffer.allocUnsafe(Math.min(available, READ_BYTES));
          const { bytesRead } = await handle.read(buf, 0, buf.length, at);
          if (bytesRead === 0) throw new Error(`the spooled log ${this.path} is shorter than what was written to it`);
          at += bytesRead;
          yield buf.subarray(0, bytesRead);
        } else if (this.done) {
          return;
        } else {
          await this.grown();
        }
      }
    } finally {
      await handle.close();
    }
  }
}
