/**
 * A log to upload: its identity, a way to read it from any byte offset (which is what makes an upload
 * resumable), and its length and hash once the whole log exists. The network sink uploads a log while
 * it is still being encoded (replayable-log.ts, log-spool.ts), so the length and hash may come only at the end.
 */
import { randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { LogKey } from '../replica/index.js';
import { LogFormatError } from '../protocol/index.js';

export interface CompleteLog {
  length: number;
  /** Hex SHA-256 from the log's trailer. */
  hash: string;
}

export interface LogSource {
  key: LogKey;
  /** Chosen when the log is started: names this log (not a re-cut one of the same sequence) from its first byte. */
  uploadId: string;
  /** The log's length and hash once it is complete; undefined while it is still being written. */
  complete(): CompleteLog | undefined;
  /** Resolves with the length and hash once the log is complete; rejects if it never will be. */
  finished(): Promise<CompleteLog>;
  /** The log from `offset`; a log still being written is followed until its end. */
  open(offset: number): Readable;
  /**
   * The upload of this log is about to start (it connects and asks the replica what it holds first): a
   * source that makes its bytes on demand may start making the first ones now, within its memory bound.
   */
  readAhead?(): void;
}

/** 128 random bits in hex, the form the replica server takes (UPLOAD_ID in log-receiver.ts). */
export function newUploadId(): string {
  return randomBytes(16).toString('hex');
}

/** The whole-log hash sits 40 bytes from the end of every log, before the 8-byte end magic. */
export const TRAILER_TAIL_BYTES = 40;

export function trailerHash(tail: Buffer): string {
  if (tail.length < TRAILER_TAIL_BYTES || tail.subarray(tail.length - 8).toString('latin1') !== 'HVRLEND\n') {
    throw new LogFormatError('ERR_LOG_TRUNCATED', 'the log has no trailer; it was not written completely');
  }
  return tail.subarray(tail.length - TRAILER_TAIL_BYTES, tail.length - 8).toString('hex');
}

/**
 * The last TRAILER_TAIL_BYTES of a log written so far, after `chunk`: a copy, not a view that would keep a
 * whole chunk alive while the log is written.
 */
export function lastBytesAfter(tail: Buffer, chunk: Buffer): Buffer {
  return Buffer.from(chunk.length >= TRAILER_TAIL_BYTES ? chunk.subarray(-TRAILER_TAIL_BYTES) : Buffer.concat([tail, chunk]).subarray(-TRAILER_TAIL_BYTES));
}

export function bufferLogSource(log: Buffer, key: LogKey): LogSource {
  const complete = { length: log.length, hash: trailerHash(log.subarray(Math.max(0, log.length - TRAILER_TAIL_BYTES))) };
  return {
    key,
    uploadId: newUploadId(),
    complete: () => complete,
    finished: async () => complete,
    open: (offset) => Readable.from(chunks(log.subarray(offset))),
  };
}

function* chunks(buf: Buffer, size = 64 * 1024): Generator<Buffer> {
  for (let at = 0; at < buf.length; at += size) yield buf.subarray(at, at + size);
}

/** A pass-through that reports the bytes flowing through it. */
export function byteCounter(add: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      add(chunk.length);
      done(null, chunk);
    },
  });
}

/** `source` piped through a byte counter, failing and closing together (an uploader destroys what it reads). */
export function counted(source: Readable, add: (n: number) => void): Readable {
  const out = byteCounter(add);
  source.on('error', (error) => out.destroy(error));
  out.on('close', () => source.destroy());
  return source.pipe(out);
}
