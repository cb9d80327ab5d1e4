/**
 * A log to upload: its identity, length and hash, and a way to read it from any byte offset (which
 * is what makes an upload resumable). Logs are spooled to a file before they are sent.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import type { LogKey } from '../replica/index.js';
import { LogFormatError } from '../protocol/index.js';

export interface LogSource {
  key: LogKey;
  length: number;
  /** Hex SHA-256 from the log's trailer. */
  hash: string;
  open(offset: number): Readable;
}

/** The whole-log hash sits 40 bytes from the end of every log, before the 8-byte end magic. */
export function trailerHash(tail: Buffer): string {
  if (tail.length < 40 || tail.subarray(tail.length - 8).toString('latin1') !== 'HVRLEND\n') {
    throw new LogFormatError('ERR_LOG_TRUNCATED', 'the log has no trailer; it was not written completely');
  }
  return tail.subarray(tail.length - 40, tail.length - 8).toString('hex');
}

export async function fileLogSource(path: string, key: LogKey): Promise<LogSource> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const tail = Buffer.alloc(Math.min(40, size));
    await handle.read(tail, 0, tail.length, size - tail.length);
    return { key, length: size, hash: trailerHash(tail), open: (offset) => createReadStream(path, { start: offset, highWaterMark: 256 * 1024 }) };
  } finally {
    await handle.close();
  }
}

export function bufferLogSource(log: Buffer, key: LogKey): LogSource {
  return {
    key,
    length: log.length,
    hash: trailerHash(log.subarray(Math.max(0, log.length - 40))),
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
