/**
 * Receives one log in pieces, durably: bytes go to `uploads/<disk>/<name>.partial` and are fsynced
 * before the receiver says how many it holds, so a primary that lost its connection continues from
 * there. When the last byte arrives the whole log is decoded from disk (every record checksum, the
 * whole-log hash, the header against the URL's ids) and only then handed to the LogConsumer; once that
 * holds it, the receiver records the log as accepted (by its hash) and drops its own name for it. The
 * replica server's consumer hard-links this very file into its incoming/ folder (same volume), so the
 * fsync below is the only time the log's bytes are written on the replica before apply; the receiver
 * therefore never writes into a partial file that has a second link (see receive). A log that
 * fails verification or that the consumer refuses is deleted, never accepted; one the consumer could
 * not take for a passing reason (a full disk) stays complete, and the next attempt hands it over again.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat, type FileHandle } from 'node:fs/promises';
import { pathExists } from '../util/path-exists.js';
import { join } from 'node:path';
import { decodeLog, LogFormatError, ReplicationPosition, verifyLog, type DecodeOptions, type DecodedRecord, type LogHeader, type LogSummary } from '../protocol/index.js';
import { logger } from '../logging/logger.js';
import { markSparse } from '../native/sparse-file.js';
import { readJsonFile, writeFileAtomic } from './atomic-file.js';
import { ReplicaError } from './errors.js';
import { CoalescingWriter, UploadTooLongError } from './coalescing-writer.js';
import { HollowReceipt, type HollowProgress } from './hollow-log.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { LogConsumer, LogKey, Staging } from './log-consumer.js';

const log = logger('log-receiver');

/** Smallest possible log: a header without reference ids, the end record and the trailer. */
export const MIN_LOG_BYTES = 84 + 56 + 64;

export interface UploadStatus {
  ReceivedBytes: number;
  Accepted: boolean;
  Position: string | null;
}

/**
 * Which log of a sequence an upload carries (a primary that failed a cycle re-cuts the log under the same
 * sequence). `uploadId` is chosen by the primary when it starts encoding, so an upload can begin before
 * the log is complete; `logHash` (the trailer's SHA-256) is known only at the end. At least one is given.
 */
export interface LogIdentity {
  uploadId?: string;
  logHash?: string;
}

export interface UploadRequest extends LogIdentity {
  offset: number;
  /**
   * The log's length when the primary knows it. Without it the upload streams a log still being written:
   * the body runs to the end of the log, whose trailer gives its length and hash, and it is bounded by
   * the server's maxLogBytes.
   */
  totalLength?: number;
  primaryServerName: string;
}

interface PartialMeta {
  /** The upload id, or the log hash when the primary gave none. */
  identity: string;
  /** Set when the file is hollow (hollow-log.ts): where it resumes, and the staging file with the payloads. */
  hollow?: HollowProgress;
}

interface AcceptedRecord {
  generation: number;
  sequence: number;
  logHash: string;
  uploadId?: string;
  totalLength: number;
  acceptedAt: string;
  primaryServerName: string;
}

export interface ReceiverLimits {
  /** Largest log accepted, in bytes. */
  maxLogBytes: number;
}

export interface ReceiverOptions {
  /** Makes the writer of an upload's file (tests inject failing syncs here). */
  writer?: (handle: FileHandle, offset: number) => CoalescingWriter;
}

/** Codes that say the log itself can never be taken: keeping its bytes would only block a resend. */
function refusesLog(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('ERR_LOG_') || code === 'ERR_INVALID_ARGUMENT');
}

export function uploadsDir(vmDir: string, diskId: string): string {
  return join(vmDir, 'uploads', diskId);
}

export function logFileName(generation: number, sequence: number): string {
  return `${String(generation).padStart(10, '0')}-${String(sequence).padStart(12, '0')}.hvrlog`;
}

export class LogReceiver {
  private readonly mutex = new KeyedMutex();
  constructor(
    private readonly consumer: LogConsumer,
    private readonly limits: ReceiverLimits,
    private readonly options: ReceiverOptions = {},
  ) {}

  /** What the replica holds of this log; the identity tells a re-cut log of the same sequence apart. */
  async status(vmDir: string, key: LogKey, identity?: LogIdentity): Promise<UploadStatus> {
    return this.mutex.run(this.lockKey(vmDir, key), () => this.statusUnlocked(vmDir, key, identity));
  }

  async receive(vmDir: string, key: LogKey, request: UploadRequest, body: AsyncIterable<Uint8Array>): Promise<UploadStatus> {
    this.checkRequest(request);
    const ended = this.consumer.uploading?.(vmDir);
    return this.mutex.run(this.lockKey(vmDir, key), () => this.receiveLocked(vmDir, key, request, body)).finally(() => ended?.()).catch((error: unknown) => {
      // A full volume can strike at any write (the upload's metadata as well as its bytes): always a
      // passing condition the primary retries, never an internal error.
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
        throw new ReplicaError('ERR_DISK_FULL', `the replica's storage location is full (${(error as Error).message}); free space there, the upload resumes where it stopped`);
      }
      throw error;
    });
  }

  private async receiveLocked(vmDir: string, key: LogKey, request: UploadRequest, body: AsyncIterable<Uint8Array>): Promise<UploadStatus> {
    const before = await this.statusUnlocked(vmDir, key, request);
    if (before.Accepted) return before;
    const { partial, meta } = this.paths(vmDir, key);
    await mkdir(uploadsDir(vmDir, key.diskId), { recursive: true });
    let size = await fileSize(partial);
    const known = await readJsonFile<PartialMeta>(meta);
    const identity = identityOf(request);
    const startOver = async () => {
      await rm(partial, { force: true });
      size = 0;
      await writeFileAtomic(meta, JSON.stringify({ identity } satisfies PartialMeta));
    };
    // A different log under the same sequence (the primary re-cut it after a failed cycle): start over.
    if (known?.identity !== identity) await startOver();
    // A hollow file goes on only from where it was cut, with the staging disk that holds its payloads.
    let resumed: { progress: HollowProgress; staging: Staging } | undefined;
    if (known?.identity === identity && known.hollow) {
      const staging = request.offset > 0 && request.offset === known.hollow.bytes && size === known.hollow.bytes ? await this.resumeStaging(vmDir, partial, known.hollow) : undefined;
      if (staging) resumed = { progress: known.hollow, staging };
      // Its staging could not be taken up again (gone, no longer wanted, or it failed to open): a hollow file
      // is nothing without it, so the upload starts over rather than being sent to the offset it asked for.
      else if (request.offset === 0 || request.offset === known.hollow.bytes || !(await pathExists(known.hollow.staged)) || size !== known.hollow.bytes) await startOver();
      else throw new OffsetMismatchError(size, `the replica holds ${size} bytes of this log; continue from there, not from ${request.offset}`);
    }
    // A streamed upload (no declared length) runs to the log's trailer, never past the server's limit.
    const limit = request.totalLength ?? this.limits.maxLogBytes;
    if (size > 0 && request.offset < limit && (await linkCount(partial)) > 1) {
      // The complete file is already the replica storage's incoming log too (the consumer links it, it
      // does not copy it; a crash came before we dropped our name). Writing into it would change that
      // log under the storage: drop our name and let the upload start over in a file of its own.
      await resumed?.staging.suspend().catch(() => undefined);
      resumed = undefined;
      await startOver();
    }
    if (request.offset > size) {
      throw new OffsetMismatchError(size, `the replica holds ${size} bytes of this log; continue from there, not from ${request.offset}`);
    }
    let handle: FileHandle;
    try {
      handle = await open(partial, size === 0 ? 'w' : 'r+', 0o600);
    } catch (error) {
      await resumed?.staging.suspend().catch(() => undefined);
      throw error;
    }
    const writer = this.options.writer?.(handle, request.offset) ?? new CoalescingWriter(handle, request.offset);
    // Said before the first hole is left: a server killed mid-upload then finds a hollow file whose staging a
    // restart cleared, and starts the log over instead of resuming a file that lacks payloads.
    const hollowFrom = async (staged: string) => {
      // On NTFS the holes would be zero-filled, every payload byte written twice again, unless it is sparse.
      if (!(await markSparse(partial))) log.debug('the received log cannot be sparse on this volume; its holes are written as zeros', { partial });
      await writeFileAtomic(meta, JSON.stringify({ identity, hollow: { staged, bytes: 0, records: 0 } } satisfies PartialMeta));
    };
    const staging = new StagingSlot(this.consumer, vmDir, key, writer, hollowFrom, resumed);
    try {
      return await this.receiveInto(vmDir, key, request, body, { handle, writer, staging, size, partial, meta, identity });
    } catch (error) {
      // Whatever failed (the body, the final fsync, the hand-over), a staging disk of this attempt is of
      // no use any more: left behind it would hold a disk-sized file and, on Windows, an open handle that
      // makes the next attempt's StagedDisk.create fail to replace it.
      await staging.discard();
      throw error;
    }
  }

  private async receiveInto(
    vmDir: string,
    key: LogKey,
    request: UploadRequest,
    body: AsyncIterable<Uint8Array>,
    files: { handle: FileHandle; writer: CoalescingWriter; staging: StagingSlot; size: number; partial: string; meta: string; identity: string },
  ): Promise<UploadStatus> {
    const { handle, writer, staging, size } = files;
    const limit = request.totalLength ?? this.limits.maxLogBytes;
    let summary: LogSummary | undefined;
    let refusal: Error | undefined;
    /** Where a cut hollow upload resumes, once its staging disk is durable (hollow-log.ts). */
    let kept: number | undefined;
    try {
      if (request.offset < size) await handle.truncate(request.offset);
      const arriving = writer.tap(body, limit);
      // A log sent whole in one request is verified as its bytes arrive (the decoder pulls them through
      // the writer), so it is not read back from the disk; a resumed one is verified from the file (a hollow
      // one: its framing from the file, then the new bytes as they arrive). Each verified record may also go
      // to a staging disk (a full copy), so that applying it later is a rename.
      if (request.offset === 0) summary = await verifyLog(arriving, staging, staging.decodeOptions);
      else if (staging.resuming) summary = await verifyLog(prefixThen(files.partial, request.offset, arriving), staging, staging.decodeOptions);
      else for await (const chunk of arriving) void chunk;
      // A verified log is placed whole (the trailer follows the last record): everything left may be filed.
      if (summary) writer.release(Number.POSITIVE_INFINITY);
      await writer.flush();
    } catch (error) {
      // A hollow upload's staging disk holds its payloads: kept when the upload may resume (keepHollow).
      if (!staging.hollow || isRefusal(error, writer, request)) await staging.discard();
      await writer.flush().catch(() => undefined);
      if (error instanceof UploadTooLongError) {
        // Never retried into the same result: the primary is told which option bounds it, and nothing of
        // the log is kept (a streamed log would otherwise fill the volume up to the limit every cycle).
        refusal = request.totalLength === undefined ? tooLargeError(`a log streamed without a declared length ran past ${error.limit} bytes`, error.limit) : error;
      } else if (isRefusal(error, writer, request)) {
        refusal = error as Error;
      } else if (!(error instanceof LogFormatError)) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
          throw new ReplicaError('ERR_DISK_FULL', `the replica's storage location is full after ${writer.position} bytes of this log; free space there, the upload resumes where it stopped`);
        }
        log.warn('upload interrupted', { log: logFileName(key.generation, key.sequence), vmId: key.vmId, diskId: key.diskId, received: writer.position, error: (error as Error).message });
        throw error;
      }
      // Otherwise the body ended early (the decoder saw a truncated log): the primary resumes from here.
    } finally {
      // Whatever arrived is made durable before anyone is told it is there (a refused log is deleted instead).
      try {
        // A hollow upload cut short keeps what its staging disk holds, up to a record boundary.
        if (refusal === undefined && staging.hollow && summary === undefined) kept = await this.keepHollow(files);
        else if (refusal === undefined) await writer.sync();
      } catch (error) {
        // What this request added may not be on the disk: hold only what an earlier request made durable.
        await handle.truncate(request.offset).then(() => handle.sync()).catch(() => undefined);
        throw error;
      } finally {
        await handle.close();
      }
    }
    if (refusal) return this.refuse(vmDir, key, refusal);
    if (!writer.ended || (request.totalLength !== undefined && writer.position < request.totalLength)) {
      await staging.discard();
      return { ReceivedBytes: kept ?? writer.position, Accepted: false, Position: null };
    }
    const hollow = staging.hollow;
    let staged: string | undefined;
    try {
      staged = summary ? await staging.finish() : (await staging.discard(), undefined);
    } catch (error) {
      // Only a hollow log's staging disk is needed (it holds the payloads): without it the log starts over.
      await rm(files.partial, { force: true });
      await rm(files.meta, { force: true });
      throw error;
    }
    // A complete hollow log the storage cannot take for a passing reason (its lock stays busy, a full volume)
    // keeps its staging disk, which holds the payloads, so the retry only hands the log over. Said before the
    // hand-over: on a full volume, writing it after the failure would fail as well.
    const resumable = hollow && staged !== undefined && summary !== undefined && (await this.markComplete(files, staged, summary));
    try {
      return await this.finish(vmDir, key, request, summary, staged, hollow);
    } catch (error) {
      // Unless the log was refused (its file is gone) or the storage took the staging disk meanwhile.
      if (resumable && (await pathExists(files.partial)) && (await pathExists(staged!))) staged = undefined;
      throw error;
    } finally {
      // Moved by the consumer when it took it; otherwise it is of no use any more.
      if (staged !== undefined) await rm(staged, { force: true });
    }
  }

  /** Deletes a log that can never be taken, and says why. */
  private async refuse(vmDir: string, key: LogKey, error: Error): Promise<never> {
    const { partial, meta } = this.paths(vmDir, key);
    await rm(partial, { force: true });
    await rm(meta, { force: true });
    log.warn('log refused', { vmId: key.vmId, diskId: key.diskId, log: logFileName(key.generation, key.sequence), error: error.message });
    throw error;
  }

  /**
   * A cut hollow upload: makes its staging disk durable, cuts the received file back to the record boundary
   * that disk holds everything before, syncs it, and records where it resumes. Anything failing here leaves
   * an empty upload (the primary starts the log over), never a file whose missing payloads nothing holds.
   */
  private async keepHollow(files: { handle: FileHandle; writer: CoalescingWriter; staging: StagingSlot; meta: string; identity: string }): Promise<number> {
    const { handle, writer, staging } = files;
    let progress: HollowProgress | undefined;
    try {
      progress = await staging.suspendHollow();
    } catch (error) {
      log.warn('the staging disk of a cut upload could not be kept; the log starts over', { error: (error as Error).message });
    }
    const bytes = progress?.bytes ?? 0;
    try {
      await writer.flush();
    } catch {
      progress = undefined;
    }
    await handle.truncate(progress ? bytes : 0);
    await writer.sync().catch(async () => {
      progress = undefined;
      await handle.truncate(0);
      await handle.sync();
    });
    await writeFileAtomic(files.meta, JSON.stringify({ identity: files.identity, ...(progress ? { hollow: progress } : {}) } satisfies PartialMeta));
    return progress ? bytes : 0;
  }

  /**
   * Records a complete hollow log as resumable at its end with its staging disk, before its hand-over (whose
   * success drops the record with the upload). False when it could not be said: the staging disk then goes.
   */
  private async markComplete(files: { partial: string; meta: string; identity: string }, staged: string, summary: LogSummary): Promise<boolean> {
    const bytes = summary.trailer.logBytes + TRAILER_HASH_AND_MAGIC_BYTES;
    try {
      if ((await fileSize(files.partial)) !== bytes) return false;
      const progress: HollowProgress = { staged, bytes, records: summary.trailer.recordCount };
      await writeFileAtomic(files.meta, JSON.stringify({ identity: files.identity, hollow: progress } satisfies PartialMeta));
      return true;
    } catch (error) {
      log.warn('a received full copy could not be recorded for a second hand-over; if this one fails it is sent again', { error: (error as Error).message });
      return false;
    }
  }

  /** The staging a cut hollow upload suspended, reopened for the next request (undefined when gone). */
  private async resumeStaging(vmDir: string, partial: string, progress: HollowProgress): Promise<Staging | undefined> {
    if (!this.consumer.stage || !(await pathExists(progress.staged))) return undefined;
    let header: LogHeader | undefined;
    try {
      for await (const entry of decodeLog(createReadStream(partial, { end: Math.max(0, progress.bytes - 1) }))) {
        if (entry.kind === 'header') header = entry.header;
        break;
      }
    } catch {
      return undefined;
    }
    return header && (await this.consumer.stage(vmDir, header, progress.staged).catch(() => undefined));
  }

  private async finish(vmDir: string, key: LogKey, request: UploadRequest, verified?: LogSummary, staged?: string, hollow = false): Promise<UploadStatus> {
    const { partial, meta, accepted } = this.paths(vmDir, key);
    const drop = async () => {
      await rm(partial, { force: true });
      await rm(meta, { force: true });
    };
    let summary: LogSummary;
    try {
      summary = verified ?? (await verifyLog(createReadStream(partial, { highWaterMark: 1024 * 1024 })));
      const h = summary.header;
      if (h.vmId !== key.vmId || h.diskId !== key.diskId || h.generation !== key.generation || h.sequence !== key.sequence) {
        throw new LogFormatError('ERR_LOG_MALFORMED', `the log's header (${h.vmId} ${h.diskId} ${h.generation}/${h.sequence}) does not match where it was uploaded`);
      }
      if (request.logHash !== undefined && summary.trailer.hash !== request.logHash) throw new LogFormatError('ERR_LOG_CHECKSUM', 'the log is not the one announced (its hash differs)');
    } catch (error) {
      return this.refuse(vmDir, key, error as Error);
    }
    try {
      await this.consumer.consume(vmDir, { ...key, path: partial, summary, primaryServerName: request.primaryServerName, ...(staged === undefined ? {} : { staged, ...(hollow ? { hollow } : {}) }) });
    } catch (error) {
      if (refusesLog(error)) {
        await drop();
        log.warn('log refused by the replica storage', { vmId: key.vmId, diskId: key.diskId, log: logFileName(key.generation, key.sequence), error: (error as Error).message });
      }
      throw error;
    }
    const totalLength = summary.trailer.logBytes + TRAILER_HASH_AND_MAGIC_BYTES;
    const record: AcceptedRecord = {
      generation: key.generation,
      sequence: key.sequence,
      logHash: summary.trailer.hash,
      ...(request.uploadId === undefined ? {} : { uploadId: request.uploadId }),
      totalLength,
      acceptedAt: new Date().toISOString(),
      primaryServerName: request.primaryServerName,
    };
    await writeFileAtomic(accepted, `${JSON.stringify(record)}\n`);
    await drop();
    const position = new ReplicationPosition(key.generation, key.sequence).toString();
    log.info('log accepted', { vmId: key.vmId, diskId: key.diskId, position, bytes: totalLength, records: summary.trailer.recordCount, recordHash: summary.header.recordHash });
    return { ReceivedBytes: totalLength, Accepted: true, Position: position };
  }

  private async statusUnlocked(vmDir: string, key: LogKey, identity: LogIdentity | undefined): Promise<UploadStatus> {
    const { partial, meta, accepted } = this.paths(vmDir, key);
    const record = await readJsonFile<AcceptedRecord>(accepted);
    const named = identity !== undefined && (identity.uploadId !== undefined || identity.logHash !== undefined);
    const same = (r: AcceptedRecord) => !named || (identity.uploadId !== undefined && r.uploadId === identity.uploadId) || (identity.logHash !== undefined && r.logHash === identity.logHash);
    if (record && record.generation === key.generation && record.sequence === key.sequence && same(record)) {
      return { ReceivedBytes: record.totalLength, Accepted: true, Position: new ReplicationPosition(key.generation, key.sequence).toString() };
    }
    const known = await readJsonFile<PartialMeta>(meta);
    if (named && known?.identity !== identityOf(identity)) return { ReceivedBytes: 0, Accepted: false, Position: null };
    // A hollow file is only worth its staging disk (a server restart clears staging): without it, nothing.
    if (known?.hollow && !(await pathExists(known.hollow.staged))) return { ReceivedBytes: 0, Accepted: false, Position: null };
    return { ReceivedBytes: await fileSize(partial), Accepted: false, Position: null };
  }

  private checkRequest(request: UploadRequest): void {
    const { offset, totalLength, logHash, uploadId } = request;
    if (totalLength !== undefined) {
      if (!Number.isSafeInteger(totalLength) || totalLength < MIN_LOG_BYTES) throw new ReplicaError('ERR_INVALID_ARGUMENT', `declared log length ${totalLength} is not a valid log size`);
      if (totalLength > this.limits.maxLogBytes) {
        throw tooLargeError(`a log of ${totalLength} bytes`, this.limits.maxLogBytes);
      }
    }
    const end = totalLength ?? this.limits.maxLogBytes;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > end) throw new ReplicaError('ERR_INVALID_ARGUMENT', `offset ${offset} is outside the log`);
    if (logHash !== undefined && !/^[0-9a-f]{64}$/.test(logHash)) throw new ReplicaError('ERR_INVALID_ARGUMENT', 'the log hash must be 64 lower-case hex digits');
    if (uploadId !== undefined && !UPLOAD_ID.test(uploadId)) throw new ReplicaError('ERR_INVALID_ARGUMENT', 'the upload id must be 32 lower-case hex digits');
    if (uploadId === undefined && logHash === undefined) throw new ReplicaError('ERR_INVALID_ARGUMENT', 'an upload needs an upload id or the log hash to say which log it carries');
  }

  private lockKey(vmDir: string, key: LogKey): string {
    return `${vmDir}|${key.diskId}|${key.generation}|${key.sequence}`;
  }

  private paths(vmDir: string, key: LogKey): { partial: string; meta: string; accepted: string } {
    const dir = uploadsDir(vmDir, key.diskId);
    const name = logFileName(key.generation, key.sequence);
    return { partial: join(dir, `${name}.partial`), meta: join(dir, `${name}.partial.json`), accepted: join(dir, 'accepted.json') };
  }
}

/**
 * The consumer's staging for one upload, if it offers one. Staging normally only saves time: when it cannot
 * be had or fails, the log is received and applied as usual, so its errors are logged and never fail the
 * upload. Once the received file is hollow (hollow-log.ts), the staging disk holds payloads nothing else
 * does: from then on its failures fail the upload.
 */
class StagingSlot {
  private staging: Staging | undefined;
  private receipt: HollowReceipt | undefined;
  /** True when this request goes on with a hollow upload that an earlier one left. */
  readonly resuming: boolean;

  constructor(
    private readonly consumer: LogConsumer,
    private readonly vmDir: string,
    private readonly key: LogKey,
    private readonly writer: CoalescingWriter,
    /** Records that the upload is hollow from here on (before any payload is left out). */
    private readonly hollowFrom: (staged: string) => Promise<void>,
    resumed?: { progress: HollowProgress; staging: Staging },
  ) {
    this.resuming = resumed !== undefined;
    if (resumed) {
      this.staging = resumed.staging;
      this.receipt = new HollowReceipt(writer, resumed.staging, resumed.progress);
    }
  }

  /** Whether the received file leaves payloads to the staging disk. */
  get hollow(): boolean {
    return this.receipt !== undefined;
  }

  /**
   * For the decoder: a resumed hollow upload's (which records an earlier request took), or the placement of
   * records for one that may turn hollow once its staging starts (at the log's header).
   */
  get decodeOptions(): DecodeOptions {
    if (this.resuming) return this.receipt!.decodeOptions;
    return { onRecordHeader: (layout) => this.receipt?.decodeOptions.onRecordHeader?.(layout) };
  }

  readonly header = async (header: LogHeader): Promise<void> => {
    const k = this.key;
    // A header that names another place is refused once the log is complete; nothing is staged for it.
    if (this.resuming || !this.consumer.stage || header.vmId !== k.vmId || header.diskId !== k.diskId || header.generation !== k.generation || header.sequence !== k.sequence) return;
    try {
      this.staging = await this.consumer.stage(this.vmDir, header);
      if (this.staging) await this.hollowFrom(this.staging.path);
    } catch (error) {
      await this.discard();
      this.dropped(error);
    }
    if (this.staging) this.receipt = new HollowReceipt(this.writer, this.staging);
  };

  readonly record = async (record: DecodedRecord): Promise<void> => {
    if (this.receipt) return this.receipt.record(record);
    if (!this.staging) return;
    try {
      await this.staging.record(record);
    } catch (error) {
      await this.discard();
      this.dropped(error);
    }
  };

  /** The finished staged file, or undefined when there is none (or finishing it failed: rethrown when hollow). */
  async finish(): Promise<string | undefined> {
    const staging = this.staging;
    this.staging = undefined;
    try {
      return await staging?.finish();
    } catch (error) {
      if (this.receipt) throw error;
      this.dropped(error);
      return undefined;
    }
  }

  /** A hollow upload cut short: its staging disk made durable and let go, and where the upload resumes. */
  async suspendHollow(): Promise<HollowProgress | undefined> {
    const receipt = this.receipt;
    this.staging = undefined;
    return receipt?.suspend();
  }

  async discard(): Promise<void> {
    const staging = this.staging;
    this.staging = undefined;
    await staging?.discard().catch((error: unknown) => this.dropped(error));
  }

  private dropped(error: unknown): void {
    log.warn('staging a full copy failed; the log is applied after it is received', { vmId: this.key.vmId, diskId: this.key.diskId, error: (error as Error).message });
  }
}

/**
 * Whether a failed receive refuses the log for good (never resumed): a body longer than allowed, or a log
 * found malformed or damaged. A body that ends early is a cut the primary resumes, when it declared the
 * length; a streamed body ends where the primary's log ends, so a log that is then incomplete is refused
 * (its lengths are damaged).
 */
function isRefusal(error: unknown, writer: CoalescingWriter, request: UploadRequest): boolean {
  if (error instanceof UploadTooLongError) return true;
  return error instanceof LogFormatError && !(error.code === 'ERR_LOG_TRUNCATED' && writer.ended && request.totalLength !== undefined && writer.position < request.totalLength);
}

/** The first `bytes` of the received file, then what arrives: a resumed hollow log, verified whole. */
async function* prefixThen(path: string, bytes: number, rest: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield* createReadStream(path, { start: 0, end: bytes - 1, highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>;
  yield* rest;
}

/** What a primary chooses when it starts a log: 128 random bits in hex. */
export const UPLOAD_ID = /^[0-9a-f]{32}$/;

/** The trailer's hash and end magic: what follows the `logBytes` the trailer counts. */
const TRAILER_HASH_AND_MAGIC_BYTES = 40;

/** A log over the server's limit: names the option that sets it and what the administrator can do. */
function tooLargeError(what: string, limit: number): ReplicaError {
  return new ReplicaError(
    'ERR_INVALID_ARGUMENT',
    `${what} exceeds this replica server's largest log of ${limit} bytes; raise it on the replica server with "hvreplica server run --max-log-bytes <bytes>" (the default takes a full copy of any disk), or replicate more often so that each log is smaller`,
  );
}

function identityOf(identity: LogIdentity): string {
  return identity.uploadId !== undefined ? `upload:${identity.uploadId}` : `hash:${identity.logHash ?? ''}`;
}

/** The client asked to continue beyond what the replica holds; carries the durable byte count. */
export class OffsetMismatchError extends ReplicaError {
  constructor(
    readonly receivedBytes: number,
    message: string,
  ) {
    super('ERR_INVALID_STATE', message);
  }
}

async function linkCount(path: string): Promise<number> {
  return (await stat(path)).nlink;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}
