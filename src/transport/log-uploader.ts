/**
 * Uploading logs, as an interface with one plain implementation and decorators for the policies:
 * retry with backoff (resuming where the replica's durable bytes end), a bandwidth limit, and running
 * several uploads at once. The plain uploader always asks the server how much it holds first, so any
 * attempt after a fault continues from there instead of starting over.
 */
import { PhaseTimes } from '../engine/phase-times.js';
import { logger } from '../logging/logger.js';
import { DEFAULT_RECORD_HASH, type RecordHashAlgorithm } from '../protocol/index.js';
import type { UploadStatus } from '../replica/index.js';
import type { ReplicaClient } from './http2-client.js';
import { TransportError } from './errors.js';
import { counted, type LogSource } from './log-source.js';

const log = logger('uploader');

export interface UploadResult extends UploadStatus {
  /** Bytes this call sent (less than the log's length when it resumed). */
  SentBytes: number;
  Attempts: number;
}

export interface LogUploader {
  upload(source: LogSource, signal?: AbortSignal): Promise<UploadResult>;
  /**
   * The record checksum the logs should be written with for the replica these uploads go to (what its hello
   * lists); an uploader without it gets SHA-256 logs, which every replica reads.
   */
  recordHash?(): Promise<RecordHashAlgorithm>;
}

/** What `uploader` asks logs to be written with: a decorator passes on its inner uploader's answer. */
export function recordHashOf(uploader: LogUploader): Promise<RecordHashAlgorithm> {
  return uploader.recordHash?.() ?? Promise.resolve(DEFAULT_RECORD_HASH);
}

/**
 * What a failed attempt had put on the wire: those bytes were sent (and count in LogBytes and the
 * statistics) even though a retry finishes the log.
 */
const bytesSentBy = new WeakMap<Error, number>();

/** One session, reopened when it breaks. */
export class Http2LogUploader implements LogUploader {
  private client: ReplicaClient | undefined;
  private connecting: Promise<ReplicaClient> | undefined;

  constructor(private readonly connect: () => Promise<ReplicaClient>) {}

  async upload(source: LogSource, signal?: AbortSignal): Promise<UploadResult> {
    signal?.throwIfAborted();
    const steps = new PhaseTimes();
    const client = await this.session();
    steps.lap('session');
    try {
      // The length and hash are known once the log is complete; until then the upload streams it to its end.
      let complete = source.complete();
      let identity = { uploadId: source.uploadId, ...(complete ? { logHash: complete.hash } : {}) };
      // Both questions at once, as two streams of the session: one round trip before the PUT, not two.
      const [held, ofSequence] = await Promise.all([client.status(source.key, identity), complete ? undefined : client.status(source.key)]);
      steps.lap('status');
      let before = held;
      if (before.Accepted) return { ...before, SentBytes: 0, Attempts: 1 };
      if (!complete && ofSequence?.Accepted) {
        // The replica accepted a log of this sequence (its acknowledgement was lost, and the cycle is
        // delivered again): only the hash tells whether it is this one, so wait for it instead of sending.
        complete = await source.finished();
        identity = { uploadId: source.uploadId, logHash: complete.hash };
        before = await client.status(source.key, identity);
        if (before.Accepted) return { ...before, SentBytes: 0, Attempts: 1 };
      }
      let offset = before.ReceivedBytes;
      if (complete && offset > complete.length) offset = 0;
      let read = 0;
      const body = counted(source.open(offset), (n) => (read += n));
      // The body's end splits the PUT: encoding and sending before it, the replica's store and answer after.
      body.once('end', () => steps.lap('body'));
      const onAbort = () => body.destroy(new Error('upload aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const after = await client.put(source.key, { offset, ...identity, ...(complete ? { totalLength: complete.length } : {}) }, body);
        steps.lap('answer');
        log.debug('upload steps (ms)', { log: `${source.key.generation}/${source.key.sequence}`, disk: source.key.diskId, bytes: read, ...steps.ms });
        return { ...after, SentBytes: read, Attempts: 1 };
      } catch (error) {
        if (error instanceof Error) bytesSentBy.set(error, read);
        throw error;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    } catch (error) {
      if (error instanceof TransportError && error.retryable) this.drop(client);
      throw error;
    }
  }

  /**
   * Starts connecting now, so that the first upload finds the session open: a one-shot cycle's TLS
   * handshake then runs while the cycle takes its reference point instead of after it. A failure is not
   * reported here: the first upload connects again and meets (and reports) it itself.
   */
  connectAhead(): void {
    this.session().catch(() => undefined);
  }

  async recordHash(): Promise<RecordHashAlgorithm> {
    return (await this.session()).recordHash();
  }

  async close(): Promise<void> {
    // A connection still being made (connectAhead) would otherwise open after the close and hold the
    // process up; wait for it, whatever its outcome, and close what it made.
    await this.connecting?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    await client?.close();
  }

  private drop(client: ReplicaClient): void {
    if (this.client === client) this.client = undefined;
    client.destroy();
  }

  private async session(): Promise<ReplicaClient> {
    if (this.client && !this.client.closed) return this.client;
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    this.client = await this.connecting;
    return this.client;
  }
}

export interface RetryOptions {
  /** Attempts in all, including the first (default 5). */
  attempts?: number;
  /** Delay before attempt n+1 (default: 1 s, doubling, at most 60 s). */
  backoffMs?: (attempt: number) => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });

/** Retries transient failures; each retry resumes from the bytes the replica already holds. */
export class RetryingUploader implements LogUploader {
  constructor(
    private readonly inner: LogUploader,
    private readonly options: RetryOptions = {},
  ) {}

  recordHash(): Promise<RecordHashAlgorithm> {
    return recordHashOf(this.inner);
  }

  async upload(source: LogSource, signal?: AbortSignal): Promise<UploadResult> {
    const attempts = this.options.attempts ?? 5;
    const backoff = this.options.backoffMs ?? ((n: number) => Math.min(60_000, 1000 * 2 ** (n - 1)));
    const sleep = this.options.sleep ?? defaultSleep;
    let sent = 0;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const result = await this.inner.upload(source, signal);
        return { ...result, SentBytes: sent + result.SentBytes, Attempts: attempt };
      } catch (error) {
        if (error instanceof Error) sent += bytesSentBy.get(error) ?? 0;
        const retryable = error instanceof TransportError && error.retryable;
        if (!retryable || attempt >= attempts || signal?.aborted) throw error;
        log.warn('upload failed, will resume', { attempt, log: `${source.key.generation}/${source.key.sequence}`, error: (error as Error).message });
        await sleep(backoff(attempt), signal);
      }
    }
  }
}

/** Uploads several logs at once over the same uploader (parallel HTTP/2 streams), at most `parallel`. */
export async function uploadAll(uploader: LogUploader, sources: readonly LogSource[], parallel: number, signal?: AbortSignal): Promise<UploadResult[]> {
  if (!Number.isInteger(parallel) || parallel < 1) throw new TransportError('ERR_INVALID_ARGUMENT', 'parallel streams must be at least 1', false);
  const results: UploadResult[] = new Array(sources.length);
  let next = 0;
  const worker = async () => {
    while (next < sources.length) {
      const index = next++;
      results[index] = await uploader.upload(sources[index]!, signal);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, sources.length) }, worker));
  return results;
}
