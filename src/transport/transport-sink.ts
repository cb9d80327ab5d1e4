/**
 * The engine's LogSink over the network: each log of a cycle is spooled to a file (so an upload can
 * resume at any byte after a fault without re-reading the frozen disk) and uploaded from that spool as it
 * grows, as parallel streams through whatever LogUploader stack the caller built (retry, bandwidth).
 * The cycle is acknowledged only when the replica has accepted every log.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { DeliveryAck, LogSink, OutgoingCycle } from '../engine/log-sink.js';
import { normalizeGuid } from '../protocol/index.js';
import { TransportError } from './errors.js';
import { byteCounter, counted, type LogSource } from './log-source.js';
import { LogSpool } from './log-spool.js';
import type { LogUploader, UploadResult } from './log-uploader.js';

export interface TransportSinkOptions {
  uploader: LogUploader;
  /** Folder for spooled logs (one sub-folder per VM); logs are removed once acknowledged. */
  spoolDir: string;
  /** Logs uploaded at once (default 4). */
  parallelStreams?: number;
  /** Called as bytes are spooled (encoded from the frozen disks) and as they are uploaded. */
  onProgress?: (progress: DeliveryProgress) => void;
  /**
   * Called once every log of the cycle is spooled, before the uploads are waited for: from then on the
   * cycle needs nothing but the spool, so its source may be closed and unlocked while the upload runs on.
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

export class TransportSink implements LogSink {
  constructor(private readonly options: TransportSinkOptions) {}

  async deliver(cycle: OutgoingCycle, signal?: AbortSignal): Promise<DeliveryAck> {
    const vmId = normalizeGuid(cycle.vmId, 'VM id');
    const dir = join(this.options.spoolDir, vmId, `${cycle.generation}-${cycle.sequence}`);
    await mkdir(dir, { recursive: true });
    const report = this.options.onProgress;
    const parallel = this.options.parallelStreams ?? 4;
    if (!Number.isInteger(parallel) || parallel < 1) throw new TransportError('ERR_INVALID_ARGUMENT', 'parallel streams must be at least 1', false);
    let spooled = 0;
    let uploaded = 0;
    let total: number | undefined;
    // Each log's upload starts with its first encoded bytes and follows the spool as it grows: the
    // encoder (the frozen disk, CPU) and the upload (socket, the replica's disk) overlap instead of taking
    // turns. A failed upload stops the spooling (the cycle fails as a whole and is delivered again).
    const uploads: Promise<UploadResult>[] = [];
    const stop = new AbortController();
    const both = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    let slots = parallel;
    const waiting: (() => void)[] = [];
    const upload = async (source: LogSource): Promise<UploadResult> => {
      while (slots === 0) await new Promise<void>((resolve) => waiting.push(resolve));
      slots -= 1;
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
    try {
      for (const log of cycle.logs) {
        both.throwIfAborted();
        const diskId = normalizeGuid(log.diskId, 'disk id');
        const path = join(dir, `${diskId}.hvrlog`);
        const count = byteCounter((n) => report?.({ phase: 'spool', bytes: (spooled += n), total: undefined }));
        // Spooled anew for every delivery attempt: the engine's encoder is the source of truth. Not
        // fsynced, on purpose: the spool only lets an upload resume at a byte offset within this process's
        // attempt; after a crash the cycle is delivered again from the frozen reference point and the log
        // is re-encoded (the spool folder of an unacknowledged cycle is rewritten, never trusted). An fsync
        // here would write every byte of an initial replication to the primary's disk for nothing.
        const spool = await LogSpool.create(path, { vmId, diskId, generation: cycle.generation, sequence: cycle.sequence });
        const source = spool.source;
        const countedSource: LogSource = report
          ? { ...source, open: (offset) => counted(source.open(offset), (n) => report({ phase: 'upload', bytes: (uploaded += n), total })) }
          : source;
        const pending = upload(countedSource);
        // Observed at once, so a failure while later logs are still spooling is not an unhandled rejection.
        pending.catch(() => undefined);
        uploads.push(pending);
        await pipeline(log.encode(), count, spool.writer(), { signal: both });
      }
      await this.options.onSpooled?.();
      total = spooled;
    } catch (error) {
      // Uploads already started stop at `stop`; wait for them so nothing runs on after the cycle failed.
      // An encoder's own failure is the cause even when the upload following its spool saw it first.
      const cause = (error as Error).name === 'AbortError' && both.aborted ? both.reason : error;
      if (!stop.signal.aborted) stop.abort(cause);
      await Promise.allSettled(uploads);
      throw cause;
    }
    const settled = await Promise.allSettled(uploads);
    if (settled.some((r) => r.status === 'rejected')) throw stop.signal.reason;
    const results = settled.map((r) => (r as PromiseFulfilledResult<UploadResult>).value);
    const refused = results.find((r) => !r.Accepted);
    if (refused) throw new TransportError('ERR_CONNECTION', `the replica did not accept every log of cycle ${cycle.generation}/${cycle.sequence}`, true);
    await rm(dir, { recursive: true, force: true });
    return { generation: cycle.generation, sequence: cycle.sequence, logBytes: results.reduce((sum, r) => sum + r.SentBytes, 0) };
  }
}

