/**
 * Reads a replication log front to back and refuses anything malformed with a typed LogFormatError:
 * bad magic, unknown version, checksum mismatch (record, header or whole log), truncation, oversized
 * record, records outside the disk, trailing bytes. Memory stays bounded by MAX_RECORD_BYTES. Every record
 * hash is checked (the whole-log hash covers the record hashes, not the payloads: log-format.ts).
 */
import { createHash } from 'node:crypto';
import { ChunkReader, type LogByteReader } from './chunk-reader.js';
import { codecForId } from './codec.js';
import { LogFormatError } from './errors.js';
import {
  CodecId,
  decodeHeader,
  decodeRecordHeader,
  encodeRecordPrefix,
  HASH_BYTES,
  LOG_END_MAGIC,
  MAX_RECORD_BYTES,
  parseHeaderPrefix,
  readU64,
  RECORD_HEADER_BYTES,
  RecordType,
  TRAILER_BYTES,
  type LogHeader,
  type LogTrailer,
} from './log-format.js';
import { recordChecksum } from './record-hash.js';

export type DecodedRecord = DecodedData | { type: 'zero' | 'trim'; offset: number; length: number };

/**
 * A data record. Its bytes are kept in the pieces they arrived in (network chunks): a writer that can
 * gather them (VhdxDisk.write) takes `pieces`, and `data` joins them only when something asks for one buffer.
 */
export interface DecodedData {
  type: 'data';
  offset: number;
  length: number;
  codec: CodecId;
  storedLength: number;
  /** The record's bytes (decompressed), in order; together `length` bytes. */
  readonly pieces: readonly Buffer[];
  /** The same bytes in one buffer (joined on first use when there are several pieces). */
  readonly data: Buffer;
}

class PiecewiseData implements DecodedData {
  readonly type = 'data';
  private joined: Buffer | undefined;

  constructor(
    readonly offset: number,
    readonly length: number,
    readonly codec: CodecId,
    readonly storedLength: number,
    readonly pieces: readonly Buffer[],
  ) {}

  get data(): Buffer {
    this.joined ??= this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces, this.length);
    return this.joined;
  }
}

/** An uncompressed data record whose payload was left in the log (DecodeOptions.payloadsInPlace): `length` bytes at `at`. */
export interface PayloadInPlace {
  offset: number;
  length: number;
  /** Where the payload lies in the log. */
  at: number;
}

export type LogEntry =
  | { kind: 'header'; header: LogHeader }
  | { kind: 'record'; record: DecodedRecord }
  | { kind: 'in-place'; record: PayloadInPlace }
  | { kind: 'trailer'; trailer: LogTrailer };

export interface DecodeOptions {
  /** A lower per-record limit than MAX_RECORD_BYTES (a server may bound memory further). */
  maxRecordBytes?: number;
  /**
   * Check the whole-log hash of the trailer (default true). Only for a log already verified whole
   * (the replica applying what it stored): record and header checksums are checked either way.
   */
  verifyLogHash?: boolean;
  /**
   * Told where each record lies as soon as its header is read, before its payload (a receiver files the
   * bytes it gets accordingly: hollow-log.ts). A promise it returns holds the decoding until it settles (a
   * reader that must keep pace with it: staged-check.ts); anything else it returns is ignored.
   */
  onRecordHeader?: (layout: RecordLayout) => unknown;
  /**
   * Records whose header lies before this offset were taken by an earlier pass over the same log (a
   * resumed upload): only their framing is read, which the whole-log hash and the counts still cover; their
   * payloads are passed over unread and unchecked (they were checked when they arrived), and they are not
   * yielded.
   */
  handledBefore?: number;
  /**
   * For a hollow log (hollow-log.ts) being applied: the payload of an uncompressed data record, which the
   * log's bytes do not hold, or undefined to read it from the log. It comes from the disk the log was
   * staged into, which holds the result of applying the whole verified log; a later record of the same
   * log may have written over the range since, so such a payload is not checked against its record hash
   * here (applying the records in order with it still gives that result). The replica checks that disk
   * against the log's record checksums before it applies anything from it (src/storage/staged-check.ts).
   */
  payloadOf?: (record: { offset: number; length: number }) => Promise<Buffer> | undefined;
  /**
   * Uncompressed data records are yielded as 'in-place' entries, where their payloads lie in the log, and their
   * payloads are neither read nor checked against their record checksums (the framing, the whole-log hash over
   * the record checksums, compressed records and the counts are checked as always). Only for a log this process
   * verified whole and has held durably since (the replica copying a log it stored into a disk file to file:
   * vhdx-replica-storage.ts), read through a PositionalReader so that the payloads' bytes are not read at all.
   * A version 1 log (its whole-log hash covers the payloads) is decoded as without it.
   */
  payloadsInPlace?: boolean;
}

/** Where a record lies in the log: its header at `at`, its stored payload from `payloadAt` to `end`. */
export interface RecordLayout {
  at: number;
  payloadAt: number;
  end: number;
  type: RecordType;
  codec: CodecId;
  /** Where the record lies on the disk and its uncompressed length. */
  offset: number;
  length: number;
  /** The record checksum its header carries (over its prefix and uncompressed payload: record-hash.ts). */
  checksum: Buffer;
}

export async function* decodeLog(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | LogByteReader,
  options: DecodeOptions = {},
): AsyncGenerator<LogEntry, void, undefined> {
  const maxRecord = Math.min(options.maxRecordBytes ?? MAX_RECORD_BYTES, MAX_RECORD_BYTES);
  const reader = isByteReader(source) ? source : new ChunkReader(source);
  const logHash = options.verifyLogHash === false ? undefined : createHash('sha256');
  /** Framing bytes, which the whole-log hash covers; payloads are read with reader.read (record hash only). */
  const take = async (n: number, what: string): Promise<Buffer> => {
    const buf = await reader.read(n, what);
    logHash?.update(buf);
    return buf;
  };
  try {
    const prefix = await take(12, 'header');
    const headerLength = parseHeaderPrefix(prefix);
    // Version 1's whole-log hash also covers every stored payload byte (log-format.ts).
    const payloadInLogHash = prefix.readUInt16LE(8) === 1;
    const readPayload = async (n: number): Promise<Buffer[]> => {
      const pieces = await reader.readPieces(n, 'record payload');
      if (payloadInLogHash) for (const piece of pieces) logHash?.update(piece);
      return pieces;
    };
    const header = decodeHeader(Buffer.concat([prefix, await take(headerLength - 12, 'header')]));
    yield { kind: 'header', header };

    let recordCount = 0;
    let dataBytes = 0;
    for (;;) {
      const at = reader.position;
      const recordHeader = decodeRecordHeader(await take(RECORD_HEADER_BYTES, 'record header'), at);
      const heard = options.onRecordHeader?.({
        at,
        payloadAt: at + RECORD_HEADER_BYTES,
        end: at + RECORD_HEADER_BYTES + recordHeader.storedLength,
        type: recordHeader.type,
        codec: recordHeader.codec,
        offset: recordHeader.offset,
        length: recordHeader.length,
        checksum: recordHeader.checksum,
      });
      if (heard instanceof Promise) await heard;
      const prefixBytes = encodeRecordPrefix(recordHeader.type, recordHeader.codec, recordHeader.storedLength, recordHeader.offset, recordHeader.length);
      if (recordHeader.type === RecordType.End) {
        if (recordHeader.storedLength !== 0 || recordHeader.offset !== 0 || recordHeader.length !== 0 || recordHeader.codec !== CodecId.None) {
          throw new LogFormatError('ERR_LOG_MALFORMED', 'end record carries data', at);
        }
        verifyHash(recordHeader.checksum, await recordChecksum(header.recordHash, prefixBytes), at);
        break;
      }
      const { offset, length, storedLength } = recordHeader;
      if (length === 0 || offset % header.logicalSectorSize !== 0 || length % header.logicalSectorSize !== 0) {
        throw new LogFormatError('ERR_LOG_MALFORMED', `record ${offset}+${length} is empty or not aligned to the ${header.logicalSectorSize}-byte sector`, at);
      }
      if (offset + length > header.virtualSize) {
        throw new LogFormatError('ERR_LOG_MALFORMED', `record ${offset}+${length} lies beyond the disk's virtual size ${header.virtualSize}`, at);
      }
      recordCount += 1;
      if (options.handledBefore !== undefined && at < options.handledBefore) {
        if (recordHeader.type === RecordType.Data) dataBytes += length;
        await reader.skip(storedLength, 'record payload');
        continue;
      }
      if (recordHeader.type !== RecordType.Data) {
        if (storedLength !== 0 || recordHeader.codec !== CodecId.None) throw new LogFormatError('ERR_LOG_MALFORMED', 'zero or trim record carries data', at);
        verifyHash(recordHeader.checksum, await recordChecksum(header.recordHash, prefixBytes), at);
        yield { kind: 'record', record: { type: recordHeader.type === RecordType.Zero ? 'zero' : 'trim', offset, length } };
        continue;
      }
      if (length > maxRecord) {
        throw new LogFormatError('ERR_LOG_OVERSIZED', `data record of ${length} bytes exceeds the limit of ${maxRecord}`, at);
      }
      // Stored bytes may exceed the raw size a little for incompressible data, never by much.
      if (storedLength > maxRecord + 1024 || (recordHeader.codec === CodecId.None && storedLength !== length)) {
        throw new LogFormatError('ERR_LOG_OVERSIZED', `stored payload of ${storedLength} bytes does not fit a record of ${length}`, at);
      }
      if (options.payloadsInPlace === true && !payloadInLogHash && recordHeader.codec === CodecId.None) {
        const payloadAt = reader.position;
        await reader.skip(storedLength, 'record payload');
        dataBytes += length;
        yield { kind: 'in-place', record: { offset, length, at: payloadAt } };
        continue;
      }
      const elsewhere = recordHeader.codec === CodecId.None ? options.payloadOf?.({ offset, length }) : undefined;
      if (elsewhere) {
        // Read back while the hole is skipped; a failure of either is the decode's, never an unhandled rejection.
        elsewhere.catch(() => undefined);
        await reader.skip(storedLength, 'record payload');
        const data = await elsewhere;
        if (data.length !== length) throw new LogFormatError('ERR_LOG_TRUNCATED', `the payload of record ${offset}+${length} could not be read back whole`, at);
        dataBytes += length;
        yield { kind: 'record', record: new PiecewiseData(offset, length, recordHeader.codec, storedLength, [data]) };
        continue;
      }
      const stored = await readPayload(storedLength);
      // Uncompressed bytes stay in the pieces they arrived in (storedLength === length was checked above).
      const pieces =
        recordHeader.codec === CodecId.None
          ? stored
          : [
              await codecForId(recordHeader.codec)
                .decompress(stored.length === 1 ? stored[0]! : Buffer.concat(stored, storedLength), length)
                .catch((error: unknown) => {
                  throw error instanceof LogFormatError ? new LogFormatError(error.code, error.message, at) : error;
                }),
            ];
      // Always: this is the only hash over the payload (the whole-log hash covers this record hash instead).
      verifyHash(recordHeader.checksum, await recordChecksum(header.recordHash, prefixBytes, pieces), at);
      dataBytes += length;
      yield { kind: 'record', record: new PiecewiseData(offset, length, recordHeader.codec, storedLength, pieces) };
    }

    const trailerAt = reader.position;
    const counts = await take(24, 'trailer');
    const expectedHash = logHash?.digest();
    const rest = await reader.read(TRAILER_BYTES - 24, 'trailer');
    if (!rest.subarray(HASH_BYTES).equals(LOG_END_MAGIC)) {
      throw new LogFormatError('ERR_LOG_MALFORMED', 'trailer magic missing', trailerAt + 24 + HASH_BYTES);
    }
    const trailer: LogTrailer = {
      recordCount: readU64(counts, 0, 'record count', trailerAt),
      dataBytes: readU64(counts, 8, 'data bytes', trailerAt),
      logBytes: readU64(counts, 16, 'log bytes', trailerAt),
      hash: rest.subarray(0, HASH_BYTES).toString('hex'),
    };
    if (expectedHash && !rest.subarray(0, HASH_BYTES).equals(expectedHash)) {
      throw new LogFormatError('ERR_LOG_CHECKSUM', 'whole-log hash mismatch: the log is corrupt; send it again', trailerAt + 24);
    }
    if (trailer.recordCount !== recordCount || trailer.dataBytes !== dataBytes || trailer.logBytes !== trailerAt + 24) {
      throw new LogFormatError('ERR_LOG_MALFORMED', 'trailer counts do not match the records', trailerAt);
    }
    if (!(await reader.atEnd())) {
      throw new LogFormatError('ERR_LOG_MALFORMED', 'unexpected bytes after the trailer', reader.position);
    }
    yield { kind: 'trailer', trailer };
  } finally {
    await reader.close();
  }
}

function isByteReader(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | LogByteReader): source is LogByteReader {
  return typeof (source as Partial<LogByteReader>).readPieces === 'function';
}

function verifyHash(expected: Buffer, actual: Buffer, at: number): void {
  if (!expected.equals(actual)) {
    throw new LogFormatError('ERR_LOG_CHECKSUM', 'record checksum mismatch: the log is corrupt; send it again', at);
  }
}

export interface LogSummary {
  header: LogHeader;
  trailer: LogTrailer;
  records: { data: number; zero: number; trim: number };
}

/**
 * What a caller does with a log's parts as they are decoded (a replica writes records into a staging disk
 * while the log arrives). A record is handed over once its own checksum passed; the log as a whole (that
 * no record is missing, added or moved: the whole-log hash and counts) is verified only when verifyLog
 * resolves, so nothing handed over may be exposed before that.
 */
export interface LogVisitor {
  header?(header: LogHeader): Promise<void>;
  record?(record: DecodedRecord): Promise<void>;
}

/**
 * Reads a whole log, verifying it (header CRC, every record hash, the whole-log hash over the framing and
 * the record hashes, the counts), and returns what it holds (no payloads kept).
 */
export async function verifyLog(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, visitor: LogVisitor = {}, options: DecodeOptions = {}): Promise<LogSummary> {
  let header: LogHeader | undefined;
  let trailer: LogTrailer | undefined;
  const records = { data: 0, zero: 0, trim: 0 };
  for await (const entry of decodeLog(source, options)) {
    if (entry.kind === 'header') {
      header = entry.header;
      await visitor.header?.(entry.header);
    } else if (entry.kind === 'record') {
      records[entry.record.type] += 1;
      await visitor.record?.(entry.record);
    } else if (entry.kind === 'trailer') trailer = entry.trailer;
  }
  if (!header || !trailer) throw new LogFormatError('ERR_LOG_TRUNCATED', 'log has no trailer');
  return { header, trailer, records };
}
