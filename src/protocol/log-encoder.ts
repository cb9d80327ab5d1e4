/**
 * Streams a replication log: header, one record per extent (split at MAX_RECORD_BYTES), end record
 * and trailer. Holds one record at a time, so memory is bounded whatever the size of the changes.
 */
import { createHash, type Hash } from 'node:crypto';
import { AdaptiveCodecPolicy, type CodecPolicy } from './codec.js';
import { ProtocolArgumentError } from './errors.js';
import {
  CodecId,
  encodeHeader,
  encodeRecordPrefix,
  encodeTrailerCounts,
  LOG_END_MAGIC,
  MAX_RECORD_BYTES,
  RecordType,
  validateHeader,
  type LogHeaderInput,
  type LogTrailer,
} from './log-format.js';
import { DEFAULT_RECORD_HASH, recordChecksum, recordChecksumOfPayloadDigest, type PayloadDigest, type RecordHashAlgorithm } from './record-hash.js';

export type LogRecordInput =
  /**
   * `payloadDigest`: the digest of all of `data` by a nested record checksum's hash, when its reader computed it
   * (used for a log of that record checksum instead of hashing the payload again, ignored by any other; a wrong
   * one makes the replica refuse the log, never take it).
   */
  | { type: 'data'; offset: number; data: Buffer; payloadDigest?: PayloadDigest }
  | { type: 'zero'; offset: number; length: number }
  | { type: 'trim'; offset: number; length: number };

export interface EncodeOptions {
  /** How data records are compressed (default: adaptive brotli quality 1). */
  codecPolicy?: CodecPolicy;
  /** Turn all-zero data into zero records (default true). */
  detectZeros?: boolean;
  /** Split data records at this size (default and maximum MAX_RECORD_BYTES). */
  maxRecordBytes?: number;
  /**
   * The record checksum (record-hash.ts). Default SHA-256, a version 2 log every reader takes; BLAKE3 (version
   * 3) or XXH3-128 (version 4) only for a reader known to take it (a replica server that lists it in its hello).
   */
  recordHash?: RecordHashAlgorithm;
}

/** What a log's producer lets its sink choose: the sink knows who reads the log. */
export type LogWriteOptions = Pick<EncodeOptions, 'recordHash'>;

const ZEROS = Buffer.alloc(64 * 1024);

function isAllZero(data: Buffer): boolean {
  // memcmp against zeros, 64 KiB at a time: this runs over every changed byte, and a JS loop over
  // 64-bit reads cost several milliseconds per all-zero megabyte.
  for (let at = 0; at < data.length; at += ZEROS.length) {
    const slice = data.subarray(at, Math.min(data.length, at + ZEROS.length));
    if (!slice.equals(ZEROS.subarray(0, slice.length))) return false;
  }
  return true;
}

class Framer {
  readonly logHash: Hash = createHash('sha256');
  bytes = 0;
  recordCount = 0;
  dataBytes = 0;

  /** Framing (header, record headers with their hashes, trailer counts): covered by the whole-log hash. */
  emit(chunk: Buffer): Buffer {
    this.logHash.update(chunk);
    this.bytes += chunk.length;
    return chunk;
  }

  /** A record's stored payload: covered by its record hash (format comment), so hashed once, not twice. */
  emitPayload(stored: Buffer): Buffer {
    this.bytes += stored.length;
    return stored;
  }
}

/**
 * Encodes a log. Yields buffers to write in order; returns the trailer (counts and whole-log hash, which
 * covers everything but the payloads: one hash pass per payload byte, the record's).
 * Use with `Readable.from(encodeLog(...))` or `pipeline(encodeLog(...), file)`.
 */
export async function* encodeLog(
  headerInput: LogHeaderInput,
  records: AsyncIterable<LogRecordInput> | Iterable<LogRecordInput>,
  options: EncodeOptions = {},
): AsyncGenerator<Buffer, LogTrailer, undefined> {
  const recordHash = options.recordHash ?? DEFAULT_RECORD_HASH;
  const header = validateHeader(headerInput, recordHash);
  const policy = options.codecPolicy ?? new AdaptiveCodecPolicy();
  const detectZeros = options.detectZeros ?? true;
  const maxRecord = options.maxRecordBytes ?? MAX_RECORD_BYTES;
  if (!Number.isSafeInteger(maxRecord) || maxRecord < header.logicalSectorSize || maxRecord > MAX_RECORD_BYTES || maxRecord % header.logicalSectorSize !== 0) {
    throw new ProtocolArgumentError(`maxRecordBytes must be a multiple of the sector size up to ${MAX_RECORD_BYTES}`);
  }
  const framer = new Framer();
  yield framer.emit(encodeHeader(header));

  const checkExtent = (offset: number, length: number) => {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length <= 0) {
      throw new ProtocolArgumentError(`extent ${offset}+${length} is invalid`);
    }
    if (offset % header.logicalSectorSize !== 0 || length % header.logicalSectorSize !== 0) {
      throw new ProtocolArgumentError(`extent ${offset}+${length} is not aligned to the ${header.logicalSectorSize}-byte sector`);
    }
    if (offset + length > header.virtualSize) {
      throw new ProtocolArgumentError(`extent ${offset}+${length} lies beyond the disk's virtual size ${header.virtualSize}`);
    }
  };

  const emptyRecord = async (type: RecordType, offset: number, length: number): Promise<Buffer> => {
    const prefix = encodeRecordPrefix(type, CodecId.None, 0, offset, length);
    framer.recordCount += 1;
    return framer.emit(Buffer.concat([prefix, await recordChecksum(recordHash, prefix)]));
  };

  for await (const record of records) {
    if (record.type !== 'data') {
      checkExtent(record.offset, record.length);
      yield await emptyRecord(record.type === 'zero' ? RecordType.Zero : RecordType.Trim, record.offset, record.length);
      continue;
    }
    checkExtent(record.offset, record.data.length);
    for (let at = 0; at < record.data.length; at += maxRecord) {
      const slice = record.data.subarray(at, Math.min(record.data.length, at + maxRecord));
      const offset = record.offset + at;
      if (detectZeros && isAllZero(slice)) {
        yield await emptyRecord(RecordType.Zero, offset, slice.length);
        continue;
      }
      const { codec, stored } = await policy.encode(slice);
      const prefix = encodeRecordPrefix(RecordType.Data, codec, stored.length, offset, slice.length);
      framer.recordCount += 1;
      framer.dataBytes += slice.length;
      const known = record.payloadDigest?.algorithm === recordHash && slice.length === record.data.length ? record.payloadDigest : undefined;
      yield framer.emit(Buffer.concat([prefix, known ? recordChecksumOfPayloadDigest(prefix, known) : await recordChecksum(recordHash, prefix, [slice])]));
      yield framer.emitPayload(stored);
    }
  }

  const endPrefix = encodeRecordPrefix(RecordType.End, CodecId.None, 0, 0, 0);
  yield framer.emit(Buffer.concat([endPrefix, await recordChecksum(recordHash, endPrefix)]));
  const counts = encodeTrailerCounts(framer.recordCount, framer.dataBytes, framer.bytes + 24);
  framer.emit(counts);
  const hash = framer.logHash.digest();
  yield Buffer.concat([counts, hash, LOG_END_MAGIC]);
  return { recordCount: framer.recordCount, dataBytes: framer.dataBytes, logBytes: framer.bytes, hash: hash.toString('hex') };
}
