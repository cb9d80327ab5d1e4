/**
 * A log uploaded straight from its encoder, with no spool file. The upload pulls the encoder: each chunk is
 * encoded when the upload wants it, sent, and kept in memory for a while (KEEP_BYTES) in case the
 * connection breaks. A retry asks the replica how many bytes it holds durably; that is at most what was in
 * flight behind the upload (the server's HTTP/2 window, socket buffers), so the retry normally continues
 * from memory. When the replica holds less than that (it restarted, or a final sync failed and it kept only
 * what an earlier request made durable), the log is encoded again from the frozen source and the bytes
 * before the offset are skipped: a fault costs a second read of the source, never a wrong byte.
 *
 * Why no spool: a spool file is a second copy of every log byte on the primary's disk. For an initial
 * replication that is the whole disk written (and mostly read back when the upload falls behind the
 * encoder) just to make a rare fault cheaper, and its dirty pages compete for writeback with everything
 * else on the host. In a CPU profile of a 1 GiB initial copy (bench/replication/README.md, runs 15–22) the
 * spool's writes took 1.9 s of the agent and its read-back 1.5 s.
 *
 * Encoding again yields the same bytes: the source is a frozen reference point (kept until the replica
 * acknowledges the cycle), the encoder is a pure function of it (the codec policy is made anew for each
 * pass), and the replica verifies every record hash and the whole-log hash before it takes the log, so a
 * pass that somehow differed would make the replica refuse the log (the cycle fails and is sent again),
 * never store a mixture.
 *
 * A caller that must let the source go before the upload ends (hash comparison, extended replication:
 * TransportSink's onSpooled) uses the file spool (log-spool.ts) instead.
 */
import { Readable } from 'node:stream';
import type { LogKey } from '../replica/index.js';
import { lastBytesAfter, newUploadId, trailerHash, type CompleteLog, type LogSource } from './log-source.js';

/**
 * Bytes kept behind the newest encoded byte. The replica's durable offset after a cut lies at most the bytes
 * in flight behind the upload: the server's stream window (4 MiB, http2-server.ts), the sockets' buffers and
 * the streams between; 32 MiB is several times that, and bounds the memory a log's upload holds.
 */
export const KEEP_BYTES = 32 * 1024 * 1024;
/** How far the stream handed to the uploader reads ahead of the socket (a few records). */
const READ_AHEAD_BYTES = 4 * 1024 * 1024;
/**
 * Bytes encoded before the upload reads its first one (`readAhead`), while it asks the replica what it holds
 * (the encoder starts once the session's hello named the record checksum): the encoder (reading the frozen
 * disk, hashing: CPU) runs while the upload waits on the network.
 * At most half the bytes kept, so the upload still finds them all in memory.
 */
export const ENCODE_AHEAD_BYTES = 8 * 1024 * 1024;

/**
 * How far a chunk handed to a reader may still be held downstream of it. The reader's stream holds up to
 * READ_AHEAD_BYTES and one chunk more; every stage piped after it (the two progress counters, the bandwidth
 * limiter: transforms with 16 KiB marks) holds about a chunk on each side and one in its transform, and the HTTP/2
 * stream one buffered and one in its native queue: with chunks of up to a 1 MiB record that is at most ~5 + 3 × 3
 * + 2 = 16 MiB for today's pipeline. 20 MiB leaves room for a stage more. A kept chunk is given back for reuse
 * (`recycle`) only when it ends this far behind every reader; KEEP_BYTES must stay above it, or nothing is reused.
 */
export const RELEASE_LAG_BYTES = READ_AHEAD_BYTES + 16 * 1024 * 1024;

export interface ReplayableLogOptions {
  /** Bytes kept in memory behind the newest encoded byte (default KEEP_BYTES). */
  keepBytes?: number;
  /** Called with the count of bytes encoded for the first time (a replay's bytes are not counted again). */
  onEncoded?: (bytes: number) => void;
  /** Called once when the encoder first reaches the end of the log. */
  onComplete?: (log: CompleteLog) => void;
  /**
   * Called with a chunk the log lets go of once no reader can still hold it (RELEASE_LAG_BYTES behind every
   * reader, or never handed to one): its memory may be reused. Chunks let go of otherwise are left to the
   * garbage collector.
   */
  recycle?: (chunk: Buffer) => void;
}

export class ReplayableLog {
  readonly source: LogSource;
  private readonly keepBytes: number;
  /** The encoder of the current pass; a replay starts a new one. */
  private encoder: AsyncIterator<Buffer> | undefined;
  /** Bytes the current pass has produced. */
  private head = 0;
  /** Bytes encoded by the furthest pass so far (progress counts only bytes beyond it). */
  private furthest = 0;
  /** The last chunks of the current pass, oldest first, each with its offset in the log. */
  private kept: { at: number; buf: Buffer }[] = [];
  private keptBytes = 0;
  private tail: Buffer = Buffer.alloc(0);
  private done: CompleteLog | undefined;
  private failure: Error | undefined;
  private closed = false;
  /** An upload has started reading: encoding ahead of it is over. */
  private reading = false;
  /** Pulls from the encoder one at a time (readers, finished(), close() share it). */
  private turn: Promise<unknown> = Promise.resolve();
  /**
   * How far each reader ever opened has got (the end of the last chunk handed to its stream). A reader is never
   * forgotten, not even once its upload failed: its stream may still hold what it was handed, and that must not
   * be reused while the log lives. It only holds back reuse after its position.
   */
  private readonly readers: { at: number }[] = [];
  /** Encoder passes started (1 = no replay was needed). */
  passes = 0;

  constructor(
    key: LogKey,
    private readonly encode: () => AsyncIterable<Buffer>,
    private readonly options: ReplayableLogOptions = {},
  ) {
    this.keepBytes = options.keepBytes ?? KEEP_BYTES;
    this.source = {
      key,
      uploadId: newUploadId(),
      complete: () => this.done,
      finished: () => this.finished(),
      open: (offset) => {
        this.reading = true;
        return Readable.from(this.follow(offset), { objectMode: false, highWaterMark: READ_AHEAD_BYTES });
      },
      readAhead: () => this.encodeAhead(Math.min(ENCODE_AHEAD_BYTES, this.keepBytes / 2)),
    };
  }

  /** The encoder's own failure, if it failed (the cause of a failed upload, rather than what the upload saw). */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Ends the current pass (closing what the encoder holds open, the frozen image); the log is not read again. */
  async close(): Promise<void> {
    await this.exclusive(async () => {
      this.closed = true;
      await this.stopPass();
      this.kept = [];
      this.keptBytes = 0;
    });
  }

  /**
   * Encodes the first `limit` bytes of the first pass before anyone reads them, one chunk per turn so that a
   * reader arriving meanwhile is served between two chunks; stops as soon as one reads. An encoder failure
   * is kept (`failure`) for the upload to meet when it reads, not thrown here.
   */
  private encodeAhead(limit: number): void {
    const step = (): void => {
      this.exclusive(async () => {
        if (this.reading || this.closed || this.failure || this.done || this.head >= limit) return false;
        if (this.encoder === undefined) {
          if (this.passes > 0) return false;
          await this.startPass();
        }
        await this.pull();
        return true;
      }).then((more) => more && step(), () => undefined);
    };
    step();
  }

  private exclusive<T>(body: () => Promise<T>): Promise<T> {
    const run = this.turn.then(body, body);
    this.turn = run.catch(() => undefined);
    return run;
  }

  private async finished(): Promise<CompleteLog> {
    // Nobody may be reading (the replica may already hold a log of this sequence): encode to the end.
    let at = this.head;
    for (;;) {
      if (this.done) return this.done;
      const chunk = await this.chunkAt(at);
      if (chunk === undefined) return this.done!;
      at += chunk.length;
    }
  }

  /** The log from `offset` to its end. */
  private async *follow(offset: number): AsyncGenerator<Buffer> {
    const reader = { at: offset };
    this.readers.push(reader);
    for (;;) {
      const chunk = await this.chunkAt(reader.at);
      if (chunk === undefined) return;
      reader.at += chunk.length;
      yield chunk;
    }
  }

  /** Bytes of the log from `at` (one chunk or its rest), or undefined at the end of the log. */
  private chunkAt(at: number): Promise<Buffer | undefined> {
    return this.exclusive(async () => {
      for (;;) {
        if (this.failure) throw this.failure;
        if (this.closed) throw new Error('the log was closed while it was still read');
        const kept = this.fromMemory(at);
        if (kept) return kept;
        // A second pass is read to its end even so: that is where it is compared with the first.
        if (this.done && at >= this.done.length && this.encoder === undefined) {
          if (at > this.done.length) throw new Error(`offset ${at} lies beyond the end of the ${this.done.length}-byte log`);
          return undefined;
        }
        // Older than what is kept: only a new pass from the start reaches it.
        if (at < this.head || this.encoder === undefined) await this.startPass();
        await this.pull();
      }
    });
  }

  private fromMemory(at: number): Buffer | undefined {
    for (let i = this.kept.length - 1; i >= 0; i -= 1) {
      const { at: start, buf } = this.kept[i]!;
      if (start <= at) return at < start + buf.length ? buf.subarray(at - start) : undefined;
    }
    return undefined;
  }

  private async startPass(): Promise<void> {
    await this.stopPass();
    this.passes += 1;
    this.head = 0;
    this.kept = [];
    this.keptBytes = 0;
    this.encoder = this.encode()[Symbol.asyncIterator]();
  }

  private async stopPass(): Promise<void> {
    const encoder = this.encoder;
    this.encoder = undefined;
    await encoder?.return?.();
  }

  /** Drops a kept chunk, handing it to `recycle` when no reader can still hold it. */
  private letGo(chunk: { at: number; buf: Buffer }): void {
    this.keptBytes -= chunk.buf.length;
    if (!this.options.recycle) return;
    const slowest = this.readers.reduce((least, reader) => Math.min(least, reader.at), Number.POSITIVE_INFINITY);
    if (chunk.at + chunk.buf.length + RELEASE_LAG_BYTES <= slowest) this.options.recycle(chunk.buf);
  }

  /** Takes the next chunk of the current pass into memory (or records the end of the log). */
  private async pull(): Promise<void> {
    let next: IteratorResult<Buffer>;
    try {
      next = await this.encoder!.next();
    } catch (error) {
      this.failure = error as Error;
      this.encoder = undefined;
      throw error;
    }
    if (next.done) {
      this.encoder = undefined;
      const complete = { length: this.head, hash: trailerHash(this.tail) };
      if (this.done && (this.done.length !== complete.length || this.done.hash !== complete.hash)) {
        this.failure = new Error('encoding the log again gave a different log (its source changed); the cycle must be sent again');
        throw this.failure;
      }
      if (!this.done) this.options.onComplete?.(complete);
      this.done = complete;
      return;
    }
    const buf = next.value;
    this.kept.push({ at: this.head, buf });
    this.keptBytes += buf.length;
    this.head += buf.length;
    while (this.kept.length > 1 && this.keptBytes - this.kept[0]!.buf.length >= this.keepBytes) this.letGo(this.kept.shift()!);
    this.tail = lastBytesAfter(this.tail, buf);
    if (this.head > this.furthest) {
      const fresh = this.head - Math.max(this.furthest, this.head - buf.length);
      this.furthest = this.head;
      this.options.onEncoded?.(fresh);
    }
  }
}
