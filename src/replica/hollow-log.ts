/**
 * A hollow log: how the replica keeps a full copy that it stages while it arrives (staged-disk.ts) without
 * writing its bytes twice. The received file keeps the log's framing (header, every record header with its
 * hash, the trailer) at their places, and leaves holes where the payloads of uncompressed data records
 * are: those bytes are in the staging disk, written there once each record's hash was checked. The file's
 * length is still the log's, so offsets, resuming and the whole-log hash (which covers the framing and the
 * record hashes, not the payloads) work as for any log. A resumed upload reads the framing it holds and
 * passes over the records the staging disk already has (DecodeOptions.handledBefore); applying the log
 * instead of taking the staged disk reads those payloads back from that disk (DecodeOptions.payloadOf),
 * which holds the result of applying the whole verified log, as taking it would. Either way the disk is
 * checked against the log's record checksums first (src/storage/staged-check.ts): it rested on the volume
 * since its records were verified.
 *
 * Measured (bench/replication/README.md): an initial copy wrote 2 bytes on the replica per disk byte (the
 * received log, the staging disk), both fsynced; now it writes 1 plus the framing (~88 bytes per 1 MiB).
 *
 * A cut upload resumes at a record boundary: the end of the last record handed to the staging disk, once
 * the disk is flushed (`suspend`); the received file is cut back to it and the staged file is named in the
 * upload's metadata. A server restart clears the staging folder (VhdxReplicaStorage.clearStaging): a hollow
 * upload then starts over from its first byte, since the payloads before its offset went with the disk.
 */
import { CodecId, RecordType, type DecodeOptions, type DecodedRecord, type RecordLayout } from '../protocol/index.js';
import type { CoalescingWriter } from './coalescing-writer.js';
import type { Staging } from './log-consumer.js';

/** What a cut hollow upload left, kept in the upload's metadata: where it resumes and what holds the payloads. */
export interface HollowProgress {
  /** The staging file holding every record before `bytes`. */
  staged: string;
  /** A record boundary: the received file holds the log's framing up to here. */
  bytes: number;
  /** Records before `bytes` (already in the staging disk). */
  records: number;
}

/** One request's part in receiving a hollow log. */
export class HollowReceipt {
  /** End of the last record that is in the staging disk (handed to it, or before the resumed offset). */
  private handedEnd: number;
  private handed: number;
  /** End of the record whose header was read last. */
  private currentEnd = 0;

  constructor(
    private readonly writer: CoalescingWriter,
    private readonly staging: Staging,
    /** Where a resumed upload goes on from; undefined for one that starts at 0. */
    resumed?: HollowProgress,
  ) {
    this.handedEnd = resumed?.bytes ?? 0;
    this.handed = resumed?.records ?? 0;
    // Bytes are filed only once the decoder has placed them, so a payload can be left out.
    writer.holdBack();
    this.decodeOptions = {
      onRecordHeader: (layout: RecordLayout) => {
        this.currentEnd = layout.end;
        const hollow = layout.type === RecordType.Data && layout.codec === CodecId.None;
        this.writer.release(layout.end, hollow ? { from: layout.payloadAt, to: layout.end } : undefined);
      },
      // What the staging disk holds already is not read again (nor staged again, which could undo a later record).
      ...(resumed ? { handledBefore: resumed.bytes } : {}),
    };
  }

  /** How the decoder places records for the writer, and which records an earlier request took. */
  readonly decodeOptions: DecodeOptions;

  /** Hands a verified record to the staging disk. */
  async record(record: DecodedRecord): Promise<void> {
    await this.staging.record(record);
    this.handed += 1;
    this.handedEnd = this.currentEnd;
  }

  /**
   * After a cut: makes the staging disk durable and says where the upload resumes (undefined when nothing
   * is worth keeping). The caller cuts the received file back to `bytes` and syncs it before it says so.
   */
  async suspend(): Promise<HollowProgress | undefined> {
    await this.staging.suspend();
    if (this.handed === 0) return undefined;
    return { staged: this.staging.path, bytes: this.handedEnd, records: this.handed };
  }
}
