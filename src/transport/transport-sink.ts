/**
 * The engine's LogSink over the network: each log of a cycle is uploaded as it is encoded, as parallel
 * streams through whatever LogUploader stack the caller built (retry, bandwidth), and stays readable from
 * any byte offset so that an upload resumes after a fault. By default the upload pulls the encoder and a
 * resume far back encodes the log again from the frozen source (replayable-log.ts); a caller that lets the
 * source go before the uploads end (onSpooled) gets a spool file instead (log-spool.ts).
 * The cycle is acknowledged only when the replica has accepted every log.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { DeliveryAck, LogSink, OutgoingCycle, OutgoingLog } from '../engine/log-sink.js';
import { logger } from '../logging/logger.js';
import { DEFAULT_RECORD_HASH, normalizeGuid, type RecordHashAlgorithm } from '../protocol/index.js';
import { TransportError } from './errors.js';
import { byteCounter, counted, type LogSource } from './log-source.js';
import { LogSpool } from './log-spool.js';
import { recordHashOf, type LogUploader, type UploadResult } from './log-uploader.js';
import { ReplayableLog } from './replayable-log.js';
import { giveBackRead } from '../util/recycled-buffers.js';

export interface TransportSinkOptions {
  uploader: LogUploader;
  /** Folder for spooled logs (one sub-folder per VM; only with onSpooled); logs are removed once acknowledged. */
  spoolDir: string;
  /** Logs uploaded at once (default 4). */
  parallelStreams?: number;
  /** Called as bytes are spooled (encoded from the frozen disks) and as they are uploaded. */
  onProgress?: (progress: DeliveryProgress) => void;
  /**
   * Called once every log of the cycle is spooled, before the uploads are waited for: from then on the
   * cycle needs nothing but the spool, so its source may be closed and unlocked while the upload runs on.
   * Given, every log is written to a spool file in spoolDir first; without it no log is spooled (the
   * encoders are read again if an upload must resume further back than memory holds).
   */
  onSpooled?: () => Promise<void>;
}

export interface DeliveryProgress {
  phase: 'spool' | 'upload';
  /** Bytes of log done in this phase so far. */
  bytes: number;
  /** Bytes of log this phase handles in all (known once spooling is over and onSpooled has returned). */
  total: number | undefined;
}

const log = logger('transport-sink');

/**
 * Encodes `outgoing` with the record checksum `chosen` settles on. Every encoding of one delivery (a resume
 * encodes again) waits for the same promise, so all passes yield the same bytes.
 */
async function* encodedWith(outgoing: OutgoingLog, chosen: Promise<RecordHashAlgorithm>): AsyncGenerator<Buffer> {
  yield* outgoing.encode({ recordHash: await chosen });
}

export class TransportSink implements LogSink {
  constructor(private readonly options: TransportSinkOptions) {}

  async deliver(cycle: OutgoingCycle, signal?: AbortSignal): Promise<DeliveryAck> {
    const vmId = normalizeGuid(cycle.vmId, 'VM id');
    const spooling = this.options.onSpooled !== undefined;
    const dir = join(this.options.spoolDir, vmId, `${cycle.generation}-${cycle.sequence}`);
    if (spooling) await mkdir(dir, { recursive: true });
    const report = this.options.onProgress;
    const parallel = this.options.parallelStreams ?? 4;
    if (!Number.isInteger(parallel) || parallel < 1) throw new TransportError('ERR_INVALID_ARGUMENT', 'parallel streams must be at least 1', false);
    let spooled = 0;
    let uploaded = 0;
    let total: number | undefined;
    const encoded = (n: number) => report?.({ phase: 'spool', bytes: (spooled += n), total: undefined });
    // Each log's upload starts with its first encoded bytes: the encoder (the frozen disk, CPU) and the
    // upload (socket, the replica's disk) overlap instead of taking turns. A failed upload stops the
    // others (the cycle fails as a whole and is delivered again).
    const uploads: Promise<UploadResult>[] = [];
    const replays: ReplayableLog[] = [];
    const stop = new AbortController();
    const both = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    // Asked on the uploads' session while their first status requests go out: no round trip of its own. A
    // replica that cannot be asked gets SHA-256 logs, which every replica reads (its uploads fail anyway).
    // Without logs nothing is asked: no session is opened that no upload would wait for (and close). A spooled
    // delivery asks nothing either: its caller holds its source (extended replication: the storage lock of the
    // replica it extends) only until the spool is written, which must not wait for a replica that is down.
    const recordHash =
      cycle.logs.length === 0 || spooling
        ? Promise.resolve(DEFAULT_RECORD_HASH)
        : recordHashOf(this.options.uploader, both).catch((error: unknown) => {
            log.debug('the replica\'s log record checksums are unknown; writing SHA-256 logs', { error: (error as Error).message });
            return DEFAULT_RECORD_HASH;
          });
    let slots = parallel;
    const waiting: (() => void)[] = [];
    const upload = async (source: LogSource): Promise<UploadResult> => {
      while (slots === 0) await new Promise<void>((resolve) => waiting.push(resolve));
      slots -= 1;
      // Its first bytes are encoded while the upload still waits for the session and the replica's answer.
      source.readAhead?.();
      try {
        return await this.options.uploader.upload(source, both);
      } catch (error) {
        // The first failure is the cause of the cycle's failure; later ones are its consequence.
        if (!stop.signal.aborted) stop.abort(error);
        throw error;
      } finally {
        slots += 1;
        waiting.shift()?.();
      }
    };
    const start = (source: LogSource) => {
      const countedSource: LogSource = report
        ? { ...source, open: (offset) => counted(source.open(offset), (n) => report({ phase: 'upload', bytes: (uploaded += n), total })) }
        : source;
      const pending = upload(countedSource);
      // Observed at once, so a failure while later logs are still spooling is not an unhandled rejection.
      pending.catch(() => undefined);
      uploads.push(pending);
    };
    try {
      for (const outgoing of cycle.logs) {
        both.throwIfAborted();
        const diskId = normalizeGuid(outgoing.diskId, 'disk id');
        const key = { vmId, diskId, generation: cycle.generation, sequence: cycle.sequence };
        if (!spooling) {
          // Every log of the cycle is made here before any encoder ends, so the last to complete knows the total.
          const replay = new ReplayableLog(key, () => encodedWith(outgoing, recordHash), {
            onEncoded: encoded,
            // The engine reads records into these (replicator.ts); anything else offered is refused.
            recycle: (chunk) => void giveBackRead(chunk),
            onComplete: () => {
              if (replays.every((r) => r.source.complete())) total = replays.reduce((sum, r) => sum + r.source.complete()!.length, 0);
            },
          });
          replays.push(replay);
          start(replay.source);
          continue;
        }
        // Spooled anew for every delivery attempt: the engine's encoder is the source of truth. Not
        // fsynced, on purpose: the spool only lets an upload resume at a byte offset within this process's
        // attempt; after a crash the cycle is delivered again from the frozen reference point and the log
        // is re-encoded (the spool folder of an unacknowledged cycle is rewritten, never trusted). An fsync
        // here would write every byte of an initial replication to the primary's disk for nothing.
        const spool = await LogSpool.create(join(dir, `${diskId}.hvrlog`), key);
        start(spool.source);
        await pipeline(encodedWith(outgoing, recordHash), byteCounter(encoded), spool.writer(), { signal: both });
      }
      if (spooling) {
        await this.options.onSpooled?.();
        total = spooled;
      }
    } catch (error) {
      // Uploads already started stop at `stop`; wait for them so nothing runs on after the cycle failed.
      // An encoder's own failure is the cause even when the upload following its spool saw it first.
      const cause = (error as Error).name === 'AbortError' && both.aborted ? both.reason : error;
      if (!stop.signal.aborted) stop.abort(cause);
      await Promise.allSettled(uploads);
      // Closing must not replace the cycle's cause with its own failure.
      await Promise.allSettled(replays.map((r) => r.close()));
      throw cause;
    }
    const settled = await Promise.allSettled(uploads);
    // The encoders end here (each closes what it read, the frozen images), whatever the uploads did.
    await Promise.all(replays.map((r) => r.close()));
    if (settled.some((r) => r.status === 'rejected')) throw replays.find((r) => r.error)?.error ?? stop.signal.reason;
    const results = settled.map((r) => (r as PromiseFulfilledResult<UploadResult>).value);
    const refused = results.find((r) => !r.Accepted);
    if (refused) throw new TransportError('ERR_CONNECTION', `the replica did not accept every log of cycle ${cycle.generation}/${cycle.sequence}`, true);
    if (spooling) await rm(dir, { recursive: true, force: true });
    return { generation: cycle.generation, sequence: cycle.sequence, logBytes: results.reduce((sum, r) => sum + r.SentBytes, 0) };
  }
}

