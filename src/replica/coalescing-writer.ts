/**
 * Writes an upload's body to its file in large positional writes. HTTP/2 hands the body over in frames of
 * 16 KiB or so; awaiting one write per frame made the replica server's disk, not the network, set the
 * upload's pace (one thread-pool round trip per frame). Chunks are gathered up to `batchBytes` and written
 * with one call while the next ones arrive, so memory stays at about two batches. The disk's writeback is
 * started as the file grows (EarlyWriteback), so the fsync after the last byte finds little left to write.
 */
import type { FileHandle } from 'node:fs/promises';
import { EarlyWriteback } from '../storage/early-writeback.js';
import { ReplicaError } from './errors.js';

const DEFAULT_BATCH_BYTES = 1024 * 1024;

export class CoalescingWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The write in flight, if any; one at a time keeps the file's bytes in order. */
  private inflight: Promise<void> = Promise.resolve();
  private failure: unknown;
  private readonly writeback: EarlyWriteback;
  /** Bytes handed to the file (written or being written), from the start of the log. */
  private filed: number;
  /** Bytes received so far, from the start of the log (written or still gathered). */
  position: number;
  /** True once the body ended normally (not cut by an error). */
  ended = false;
  /** Bytes below this may be filed (all, unless holdBack() was called). */
  private released = Number.POSITIVE_INFINITY;
  /** Ranges of the log left unwritten (a hollow log's payloads), ascending. */
  private holes: { from: number; to: number }[] = [];

  constructor(
    private readonly handle: FileHandle,
    offset: number,
    private readonly batchBytes = DEFAULT_BATCH_BYTES,
  ) {
    this.filed = offset;
    this.position = offset;
    this.writeback = new EarlyWriteback(handle);
  }

  /**
   * From now on bytes are filed only once the caller has placed them (release), so that some can be left
   * out: a hollow log (hollow-log.ts) files the framing and leaves the payloads that a staging disk holds.
   */
  holdBack(): void {
    this.released = this.filed;
  }

  /** Bytes before `upTo` may be filed, except `hole` (left unwritten: the file reads zeros there). */
  release(upTo: number, hole?: { from: number; to: number }): void {
    if (hole && hole.to > hole.from) this.holes.push(hole);
    if (upTo > this.released) this.released = upTo;
  }

  /**
   * Passes the body on unchanged while filing every chunk; refuses a body longer than `totalLength`
   * (UploadTooLongError).
   * A consumer that stops early leaves the rest of the body unread (and unwritten).
   */
  async *tap(body: AsyncIterable<Uint8Array>, totalLength: number): AsyncGenerator<Buffer> {
    for await (const piece of body) {
      const chunk = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
      if (this.position + chunk.length > totalLength) throw new UploadTooLongError(totalLength);
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      this.position += chunk.length;
      if (this.pendingBytes >= this.batchBytes) await this.startWrite();
      yield chunk;
    }
    this.ended = true;
  }

  /**
   * Writes what is gathered and waits for every write and background sync (so the file may be synced and
   * closed after it, even when it throws); rethrows the first failure. Not a sync itself.
   */
  async flush(): Promise<void> {
    try {
      await this.startWrite();
    } finally {
      await this.inflight;
      await this.writeback.settle().catch((error: unknown) => {
        this.failure ??= error;
      });
    }
    if (this.failure !== undefined) throw this.failure;
  }

  /** Makes the file durable (after flush()); fails when a background sync failed, whatever fsync says now. */
  async sync(): Promise<void> {
    await this.writeback.settle();
    await this.handle.sync();
  }

  private async startWrite(): Promise<void> {
    // Back-pressure: at most one batch on its way to the disk while the next one is gathered.
    await this.inflight;
    if (this.failure !== undefined) throw this.failure;
    const ready = Math.min(this.pendingBytes, this.released - this.filed);
    if (ready <= 0) return;
    const batch = takeBytes(this.pending, ready);
    this.pendingBytes -= ready;
    const at = this.filed;
    this.filed += ready;
    const segments = this.withoutHoles(batch, at);
    const bytes = segments.reduce((sum, s) => sum + s.bytes, 0);
    this.inflight = (async () => {
      for (const segment of segments) await writeAll(this.handle, segment.buffers, segment.at);
    })().then(
      () => this.writeback.written(bytes),
      (error: unknown) => {
        this.failure ??= error;
      },
    );
  }

  /** The parts of `batch` (the log from `at`) outside the holes, each with its place in the file. */
  private withoutHoles(batch: Buffer[], at: number): { at: number; buffers: Buffer[]; bytes: number }[] {
    const end = at + batch.reduce((sum, b) => sum + b.length, 0);
    while (this.holes.length > 0 && this.holes[0]!.to <= at) this.holes.shift();
    if (this.holes.length === 0 || this.holes[0]!.from >= end) return [{ at, buffers: batch, bytes: end - at }];
    const segments: { at: number; buffers: Buffer[]; bytes: number }[] = [];
    let position = at;
    for (const buf of batch) {
      let from = 0;
      while (from < buf.length) {
        const here = position + from;
        const hole = this.holes.find((h) => h.to > here);
        if (hole && hole.from <= here) {
          from = Math.min(buf.length, hole.to - position);
          continue;
        }
        const until = Math.min(buf.length, hole ? hole.from - position : buf.length);
        const last = segments.at(-1);
        const piece = buf.subarray(from, until);
        if (last && last.at + last.bytes === here) {
          last.buffers.push(piece);
          last.bytes += piece.length;
        } else segments.push({ at: here, buffers: [piece], bytes: piece.length });
        from = until;
      }
      position += buf.length;
    }
    return segments;
  }
}

/** A body that ran past the length it may have: the log can never be taken as sent. */
export class UploadTooLongError extends ReplicaError {
  constructor(
    readonly limit: number,
    message = `the upload is longer than the declared length of ${limit} bytes; the log is refused, the primary sends it again from the start`,
  ) {
    super('ERR_INVALID_ARGUMENT', message);
  }
}

/** Removes the first `bytes` bytes from `buffers` (splitting one if needed) and returns them. */
function takeBytes(buffers: Buffer[], bytes: number): Buffer[] {
  const taken: Buffer[] = [];
  while (bytes > 0) {
    const first = buffers[0]!;
    if (first.length <= bytes) {
      taken.push(buffers.shift()!);
      bytes -= first.length;
    } else {
      taken.push(first.subarray(0, bytes));
      buffers[0] = first.subarray(bytes);
      bytes = 0;
    }
  }
  return taken;
}

/** One gathered write at `at` (no copy into a single buffer); a short write continues where it stopped. */
export async function writeAll(handle: FileHandle, batch: Buffer[], at: number): Promise<void> {
  let rest = batch;
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest, at);
    if (bytesWritten === 0) throw Object.assign(new Error('the file system accepted no bytes of a write'), { code: 'EIO' });
    at += bytesWritten;
    rest = skip(rest, bytesWritten);
  }
}

function skip(buffers: Buffer[], bytes: number): Buffer[] {
  let index = 0;
  while (index < buffers.length && bytes >= buffers[index]!.length) bytes -= buffers[index++]!.length;
  if (index === buffers.length) return [];
  return [buffers[index]!.subarray(bytes), ...buffers.slice(index + 1)];
}
