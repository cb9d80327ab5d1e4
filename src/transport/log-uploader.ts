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
   * lists); an uploader without it gets SHA-256 logs, which every replica reads. `signal` ends the asking.
   */
  recordHash?(signal?: AbortSignal): Promise<RecordHashAlgorithm>;
}

/** What `uploader` asks logs to be written with: a decorator passes on its inner uploader's answer. */
export function recordHashOf(uploader: LogUploader, signal?: AbortSignal): Promise<RecordHashAlgorithm> {
  return uploader.recordHash?.(signal) ?? Promise.resolve(DEFAULT_RECORD_HASH);
}

/** `promise`, or the reason of `signal` as soon as it aborts: for waiting on work shared with others, which goes on. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * What a failed attempt had put on the wire: those bytes were sent (and count in LogBytes and the
 * statistics) even though a retry finishes the log.
 */
const bytesSentBy = new WeakMap<Error, number>();

/**
 * One session, reopened when it breaks. Every request of an upload ends at the upload's cancel `signal`; a
 * cancelled upload also ends the session (its other requests fail with it: they belong to the same cycle), so
 * that closing the uploader does not wait for a replica server that stopped answering to take what was sent.
 */
export class Http2LogUploader implements LogUploader {
  private client: ReplicaClient | undefined;
  private connecting: Promise<ReplicaClient> | undefined;
  /** Aborted by close(): a connection still being made is not waited for (its handshake may never end). */
  private closing = new AbortController();
  /** An upload was cancelled: the session is ended, not closed gracefully (see ReplicaClient.close). */
  private cancelled = false;

  /** `connect` should end at its `signal` (ReplicaClient.connect's option). */
  constructor(private readonly connect: (signal: AbortSignal) => Promise<ReplicaClient>) {}

  async upload(source: LogSource, signal?: AbortSignal): Promise<UploadResult> {
    return this.cancellable(() => this.send(source, signal), signal);
  }

  private async send(source: LogSource, signal?: AbortSignal): Promise<UploadResult> {
    signal?.throwIfAborted();
    const steps = new PhaseTimes();
    // The session is shared by the cycle's uploads: this upload stops waiting for it, the connect goes on until close().
    const client = await untilAborted(this.session(), signal);
    steps.lap('session');
    try {
      // The length and hash are known once the log is complete; until then the upload streams it to its end.
      let complete = source.complete();
      let identity = { uploadId: source.uploadId, ...(complete ? { logHash: complete.hash } : {}) };
      // Both questions at once, as two streams of the session: one round trip before the PUT, not two.
      const [held, ofSequence] = await Promise.all([client.status(source.key, identity, signal), complete ? undefined : client.status(source.key, {}, signal)]);
      steps.lap('status');
      let before = held;
      if (before.Accepted) return { ...before, SentBytes: 0, Attempts: 1 };
      if (!complete && ofSequence?.Accepted) {
        // The replica accepted a log of this sequence (its acknowledgement was lost, and the cycle is
        // delivered again): only the hash tells whether it is this one, so wait for it instead of sending.
        complete = await untilAborted(source.finished(), signal);
        identity = { uploadId: source.uploadId, logHash: complete.hash };
        before = await client.status(source.key, identity, signal);
        if (before.Accepted) return { ...before, SentBytes: 0, Attempts: 1 };
      }
      let offset = before.ReceivedBytes;
      if (complete && offset > complete.length) offset = 0;
      let read = 0;
      const body = counted(source.open(offset), (n) => (read += n));
      // The body's end splits the PUT: encoding and sending before it, the replica's store and answer after.
      body.once('end', () => steps.lap('body'));
      try {
        // A cancel ends the PUT through its own settle path, which also destroys the body (http2-client.ts).
        const after = await client.put(source.key, { offset, ...identity, ...(complete ? { totalLength: complete.length } : {}) }, body, signal);
        steps.lap('answer');
        log.debug('upload steps (ms)', { log: `${source.key.generation}/${source.key.sequence}`, disk: source.key.diskId, bytes: read, ...steps.ms });
        return { ...after, SentBytes: read, Attempts: 1 };
      } catch (error) {
        if (error instanceof Error) bytesSentBy.set(error, read);
        throw error;
      }
    } catch (error) {
      if (error instanceof TransportError && error.retryable) this.drop(client);
      throw error;
    }
  }

  /** Runs `work`; once `signal` cancelled it, the session is ended, and so is one still being made when it opens. */
  private async cancellable<T>(work: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (signal?.aborted) {
        this.cancelled = true;
        if (this.client) this.drop(this.client);
      }
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

  recordHash(signal?: AbortSignal): Promise<RecordHashAlgorithm> {
    return this.cancellable(async () => (await untilAborted(this.session(), signal)).recordHash(signal), signal);
  }

  async close(): Promise<void> {
    // A connection still being made (connectAhead) would otherwise open after the close and hold the
    // process up; it is cancelled (a server that stopped answering never completes the handshake), waited
    // for whatever its outcome, and what it made, if anything, closed.
    if (this.connecting) this.closing.abort(new TransportError('ERR_CONNECTION', 'the uploader was closed while it connected', false));
    await this.connecting?.catch(() => undefined);
    this.closing = new AbortController();
    const client = this.client;
    this.client = undefined;
    if (this.cancelled) client?.destroy();
    else await client?.close();
    this.cancelled = false;
  }

  private drop(client: ReplicaClient): void {
    if (this.client === client) this.client = undefined;
    client.destroy();
  }

  private async session(): Promise<ReplicaClient> {
    if (this.client && !this.client.closed) return this.client;
    this.connecting ??= this.connect(this.closing.signal).finally(() => (this.connecting = undefined));
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

  recordHash(signal?: AbortSignal): Promise<RecordHashAlgorithm> {
    return recordHashOf(this.inner, signal);
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
