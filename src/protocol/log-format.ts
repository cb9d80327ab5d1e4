/**
 * The replication log, format versions 2 to 4: what one delta cycle (or one slice of an initial replication)
 * of one disk carries. Little-endian throughout; readable front to back without seeking, so it streams
 * over the network and onto removable media alike.
 *
 *   header   magic "\x89HVRLOG\n", u16 version, u16 header length, u8 consistency, u8 record hash algorithm
 *            (versions 3, 4: 1 SHA-256, 3 BLAKE3, 4 XXH3-128; zero in version 2), 2 reserved bytes,
 *            VM id (16, GUID), disk id (16, GUID), u64 generation, u64 sequence, u64 virtual size,
 *            u32 logical sector size, u16 + u16 lengths of the base and new reference point ids,
 *            both ids (UTF-8), u32 CRC-32 of the header bytes before it
 *   record*  u8 type, u8 codec, u16 reserved, u32 stored length, u64 offset, u64 length,
 *            32-byte record checksum over the record header's first 24 bytes and the *uncompressed* payload
 *            (record-hash.ts: SHA-256 in version 2, the header's algorithm in versions 3 and 4),
 *            then `stored length` payload bytes (data records only)
 *   end      a record of type End with every field zero and the checksum of nothing but its 24 bytes
 *   trailer  u64 record count, u64 data bytes (uncompressed), u64 log bytes (up to here),
 *            32-byte whole-log SHA-256, magic "HVRLEND\n"
 *
 * The whole-log hash covers every byte before it *except the stored payloads*: the header, every record
 * header (its 24 bytes and its checksum, which stands for the payload) in order, the end record and the
 * trailer counts — a hash of the record hashes. So every payload byte is hashed once, by its record hash,
 * on the primary and on the replica alike (version 1 hashed every payload byte a second time into the
 * whole-log hash: two SHA-256 passes over the data on the primary). Nothing is lost: a flipped bit in a
 * payload fails its record hash; one in a record header fails the record hash (first 24 bytes) or the
 * whole-log hash (the stored hash); a record dropped, added, repeated or moved changes the sequence of
 * record hashes the whole-log hash covers; and the trailer hash still names the log. A reader must
 * therefore check every record hash (decodeLog always does). Version 2 rather than a change in place so
 * that a version 1 log (spooled or carried on media by an earlier build) is refused as such, not as corrupt.
 *
 * Version 3 only names the record checksum's algorithm in the header, so that BLAKE3 (several times cheaper a
 * byte than SHA-256 where the addon has SIMD code) can be used between hosts that both read it: a primary
 * writes it only for a replica server that lists it in its hello (protocol 4), and writes version 2, byte for
 * byte what earlier builds wrote, for any other reader (older servers, removable media). The whole-log hash
 * stays SHA-256 in every version: it covers 56 framing bytes per record (per MiB of data), so its algorithm
 * costs nothing worth choosing, and node's incremental SHA-256 keeps its memory bounded.

Version 4 is version 3 with one more algorithm, XXH3-128 (algorithm byte 4), written only for a replica server
that lists it (protocol 6); BLAKE3 logs stay version 3 and SHA-256 logs version 2, byte for byte what earlier
builds wrote, so a reader before version 4 is never sent one it cannot check, and one handed a version 4 log
(removable media from a newer primary) refuses it as newer than it understands instead of as corrupt. A
version 3 header naming XXH3-128 is malformed (no writer made one).
 *
 * The per-record hash covers the offset and length too, so a flipped bit in a header is caught, not
 * only one in the payload; a hash of at least 128 bits (rather than CRC-32, which lets one damaged record in
 * 2^32 through) because it is also what makes the trailer hash a real integrity check of the whole log.
 */
import { crc32 } from 'node:zlib';
import { LogFormatError, ProtocolArgumentError } from './errors.js';
import { guidFromBytes, guidToBytes, normalizeGuid } from './guid.js';
import { DEFAULT_RECORD_HASH, RECORD_HASH_CODE, recordHashOfCode, type RecordHashAlgorithm } from './record-hash.js';

export const LOG_MAGIC = Buffer.from('\x89HVRLOG\n', 'latin1');
export const LOG_END_MAGIC = Buffer.from('HVRLEND\n', 'latin1');
/** The newest version: what this build reads last. Writers write 4 for XXH3-128 records, 3 for BLAKE3, 2 for SHA-256. */
export const LOG_FORMAT_VERSION = 4;
/** What a SHA-256 log is written as: byte for byte what builds before version 3 wrote and read. */
const SHA256_LOG_FORMAT_VERSION = 2;
/**
 * Versions a reader still takes. Version 1 logs can sit on a replica stored and acknowledged but not yet
 * applied (a test failover holding applies, a full volume) when hvreplica is upgraded: the primary has
 * committed past them and cannot send them again, so they must stay readable. Writers write 2, 3 or 4.
 */
export const READABLE_LOG_FORMAT_VERSIONS: readonly number[] = [1, 2, 3, 4];

/** The version a log with records of each algorithm is written in: the first whose readers know the algorithm. */
const FORMAT_VERSION_OF: Record<RecordHashAlgorithm, number> = { sha256: SHA256_LOG_FORMAT_VERSION, blake3: 3, xxh128: 4 };

/** The version a log with records of `recordHash` is written in. */
export function formatVersionFor(recordHash: RecordHashAlgorithm): number {
  return FORMAT_VERSION_OF[recordHash];
}

/**
 * Whether the whole-log hash of a version covers the stored payloads too (version 1 only). Such a log's
 * stored file must keep its payloads: it can never be stored hollow.
 */
export function logHashCoversPayloads(formatVersion: number): boolean {
  return formatVersion === 1;
}
/** Fixed part of the header, before the reference point ids and the CRC. */
export const HEADER_FIXED_BYTES = 80;
export const MAX_REFERENCE_ID_BYTES = 512;
export const MAX_HEADER_BYTES = HEADER_FIXED_BYTES + 2 * MAX_REFERENCE_ID_BYTES + 4;
export const RECORD_HEADER_BYTES = 56;
export const TRAILER_BYTES = 64;
/** Largest payload of one data record, uncompressed; the decoder's memory bound. */
export const MAX_RECORD_BYTES = 4 * 1024 * 1024;
export const HASH_BYTES = 32;

export type Consistency = 'crash' | 'application';
const CONSISTENCY_CODES: Record<Consistency, number> = { crash: 0, application: 1 };

export enum RecordType {
  Data = 1,
  Zero = 2,
  Trim = 3,
  End = 4,
}

/** Codec ids on the wire; never renumber. */
export enum CodecId {
  None = 0,
  Deflate = 1,
  Brotli = 2,
}

export interface LogHeader {
  formatVersion: number;
  /** The algorithm of every record checksum (record-hash.ts); SHA-256 in versions 1 and 2. */
  recordHash: RecordHashAlgorithm;
  vmId: string;
  diskId: string;
  generation: number;
  sequence: number;
  /** Reference point the changes are relative to ('' for an initial replication). */
  baseReferencePoint: string;
  /** Reference point the log brings the replica to. */
  newReferencePoint: string;
  virtualSize: number;
  logicalSectorSize: number;
  consistency: Consistency;
}

export type LogHeaderInput = Omit<LogHeader, 'formatVersion' | 'recordHash'>;

export interface LogTrailer {
  recordCount: number;
  dataBytes: number;
  logBytes: number;
  /** Hex whole-log SHA-256: of everything before it but the stored payloads (format comment above). */
  hash: string;
}

export interface RecordHeader {
  type: RecordType;
  codec: CodecId;
  storedLength: number;
  offset: number;
  length: number;
  checksum: Buffer;
}

function checkSafe(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new ProtocolArgumentError(`${name} must be a non-negative integer, got ${value}`);
}

export function validateHeader(input: LogHeaderInput, recordHash: RecordHashAlgorithm = DEFAULT_RECORD_HASH): LogHeader {
  const vmId = normalizeGuid(input.vmId, 'VM id');
  const diskId = normalizeGuid(input.diskId, 'disk id');
  checkSafe('generation', input.generation);
  checkSafe('sequence', input.sequence);
  checkSafe('virtual size', input.virtualSize);
  if (input.logicalSectorSize !== 512 && input.logicalSectorSize !== 4096) {
    throw new ProtocolArgumentError(`logical sector size must be 512 or 4096, got ${input.logicalSectorSize}`);
  }
  if (input.virtualSize % input.logicalSectorSize !== 0) {
    throw new ProtocolArgumentError(`virtual size ${input.virtualSize} is not a multiple of the sector size ${input.logicalSectorSize}`);
  }
  if (!(input.consistency in CONSISTENCY_CODES)) throw new ProtocolArgumentError(`consistency must be crash or application`);
  for (const [name, id] of [['base reference point', input.baseReferencePoint], ['new reference point', input.newReferencePoint]] as const) {
    if (Buffer.byteLength(id, 'utf8') > MAX_REFERENCE_ID_BYTES) {
      throw new ProtocolArgumentError(`${name} id is longer than ${MAX_REFERENCE_ID_BYTES} bytes`);
    }
  }
  if (RECORD_HASH_CODE[recordHash] === undefined) throw new ProtocolArgumentError(`unknown record hash algorithm '${String(recordHash)}'`);
  return { ...input, vmId, diskId, formatVersion: formatVersionFor(recordHash), recordHash };
}

export function encodeHeader(header: LogHeader): Buffer {
  const base = Buffer.from(header.baseReferencePoint, 'utf8');
  const next = Buffer.from(header.newReferencePoint, 'utf8');
  const length = HEADER_FIXED_BYTES + base.length + next.length + 4;
  const buf = Buffer.alloc(length);
  LOG_MAGIC.copy(buf, 0);
  const version = formatVersionFor(header.recordHash);
  buf.writeUInt16LE(version, 8);
  buf.writeUInt16LE(length, 10);
  buf.writeUInt8(CONSISTENCY_CODES[header.consistency], 12);
  // Version 2 leaves the byte zero, as it always did: a SHA-256 log stays what older readers take.
  if (version >= 3) buf.writeUInt8(RECORD_HASH_CODE[header.recordHash], 13);
  guidToBytes(header.vmId).copy(buf, 16);
  guidToBytes(header.diskId).copy(buf, 32);
  buf.writeBigUInt64LE(BigInt(header.generation), 48);
  buf.writeBigUInt64LE(BigInt(header.sequence), 56);
  buf.writeBigUInt64LE(BigInt(header.virtualSize), 64);
  buf.writeUInt32LE(header.logicalSectorSize, 72);
  buf.writeUInt16LE(base.length, 76);
  buf.writeUInt16LE(next.length, 78);
  base.copy(buf, HEADER_FIXED_BYTES);
  next.copy(buf, HEADER_FIXED_BYTES + base.length);
  buf.writeUInt32LE(crc32(buf.subarray(0, length - 4)), length - 4);
  return buf;
}

/** Reads a u64 that must fit a JS number; anything larger is a corrupt or hostile log. */
export function readU64(buf: Buffer, at: number, what: string, position: number): number {
  const value = buf.readBigUInt64LE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new LogFormatError('ERR_LOG_MALFORMED', `${what} ${value} is out of range`, position + at);
  }
  return Number(value);
}

/** The first 12 bytes: magic, version and header length. Returns the header length (the version is at byte 8). */
export function parseHeaderPrefix(prefix: Buffer): number {
  if (!prefix.subarray(0, 8).equals(LOG_MAGIC)) {
    throw new LogFormatError('ERR_LOG_BAD_MAGIC', 'not an hvreplica replication log (bad magic); check that the file is a .hvrlog and was copied whole', 0);
  }
  const version = prefix.readUInt16LE(8);
  if (!READABLE_LOG_FORMAT_VERSIONS.includes(version)) {
    throw new LogFormatError(
      'ERR_LOG_UNKNOWN_VERSION',
      version > LOG_FORMAT_VERSION
        ? `log format version ${version} is newer than this hvreplica understands (${LOG_FORMAT_VERSION}); upgrade hvreplica on this host`
        : `log format version ${version} is not supported (this hvreplica reads versions ${READABLE_LOG_FORMAT_VERSIONS.join(', ')})`,
      8,
    );
  }
  const length = prefix.readUInt16LE(10);
  if (length < HEADER_FIXED_BYTES + 4 || length > MAX_HEADER_BYTES) {
    throw new LogFormatError('ERR_LOG_MALFORMED', `header length ${length} is outside ${HEADER_FIXED_BYTES + 4}..${MAX_HEADER_BYTES}`, 10);
  }
  return length;
}

export function decodeHeader(buf: Buffer): LogHeader {
  const length = buf.length;
  const expected = buf.readUInt32LE(length - 4);
  if (crc32(buf.subarray(0, length - 4)) !== expected) {
    throw new LogFormatError('ERR_LOG_CHECKSUM', 'log header checksum mismatch: the log is corrupt; send it again', length - 4);
  }
  const consistencyCode = buf.readUInt8(12);
  const consistency = (Object.keys(CONSISTENCY_CODES) as Consistency[]).find((k) => CONSISTENCY_CODES[k] === consistencyCode);
  if (!consistency) throw new LogFormatError('ERR_LOG_MALFORMED', `unknown consistency code ${consistencyCode}`, 12);
  const formatVersion = buf.readUInt16LE(8);
  const recordHash = formatVersion >= 3 ? recordHashOfCode(buf.readUInt8(13)) : buf.readUInt8(13) === 0 ? DEFAULT_RECORD_HASH : undefined;
  if (!recordHash) {
    throw new LogFormatError(
      'ERR_LOG_MALFORMED',
      formatVersion >= 3 ? `unknown record hash algorithm ${buf.readUInt8(13)}; the log may come from a newer hvreplica` : 'reserved header bytes are not zero',
      13,
    );
  }
  if (formatVersion < formatVersionFor(recordHash) && recordHash !== DEFAULT_RECORD_HASH) {
    throw new LogFormatError('ERR_LOG_MALFORMED', `a version ${formatVersion} log cannot use the ${recordHash} record checksum (version ${formatVersionFor(recordHash)} on)`, 13);
  }
  if (buf.readUInt16LE(14) !== 0) throw new LogFormatError('ERR_LOG_MALFORMED', 'reserved header bytes are not zero', 14);
  const baseLength = buf.readUInt16LE(76);
  const newLength = buf.readUInt16LE(78);
  if (HEADER_FIXED_BYTES + baseLength + newLength + 4 !== length) {
    throw new LogFormatError('ERR_LOG_MALFORMED', 'reference point id lengths do not add up to the header length', 76);
  }
  const logicalSectorSize = buf.readUInt32LE(72);
  const virtualSize = readU64(buf, 64, 'virtual size', 0);
  if ((logicalSectorSize !== 512 && logicalSectorSize !== 4096) || virtualSize % logicalSectorSize !== 0) {
    throw new LogFormatError('ERR_LOG_MALFORMED', `invalid geometry: virtual size ${virtualSize}, sector size ${logicalSectorSize}`, 64);
  }
  return {
    formatVersion,
    recordHash,
    vmId: guidFromBytes(buf.subarray(16, 32)),
    diskId: guidFromBytes(buf.subarray(32, 48)),
    generation: readU64(buf, 48, 'generation', 0),
    sequence: readU64(buf, 56, 'sequence', 0),
    virtualSize,
    logicalSectorSize,
    baseReferencePoint: buf.toString('utf8', HEADER_FIXED_BYTES, HEADER_FIXED_BYTES + baseLength),
    newReferencePoint: buf.toString('utf8', HEADER_FIXED_BYTES + baseLength, HEADER_FIXED_BYTES + baseLength + newLength),
    consistency,
  };
}

/** The 24 bytes of a record header that its checksum covers (everything but the checksum). */
export function encodeRecordPrefix(type: RecordType, codec: CodecId, storedLength: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(24);
  buf.writeUInt8(type, 0);
  buf.writeUInt8(codec, 1);
  buf.writeUInt32LE(storedLength, 4);
  buf.writeBigUInt64LE(BigInt(offset), 8);
  buf.writeBigUInt64LE(BigInt(length), 16);
  return buf;
}

export function decodeRecordHeader(buf: Buffer, position: number): RecordHeader {
  const type = buf.readUInt8(0);
  if (!(type in RecordType) || typeof RecordType[type] !== 'string') {
    throw new LogFormatError('ERR_LOG_MALFORMED', `unknown record type ${type}`, position);
  }
  const codec = buf.readUInt8(1);
  if (typeof CodecId[codec] !== 'string') {
    throw new LogFormatError('ERR_LOG_MALFORMED', `unknown codec ${codec}; the log may come from a newer hvreplica`, position + 1);
  }
  if (buf.readUInt16LE(2) !== 0) throw new LogFormatError('ERR_LOG_MALFORMED', 'reserved record bytes are not zero', position + 2);
  return {
    type,
    codec,
    storedLength: buf.readUInt32LE(4),
    offset: readU64(buf, 8, 'record offset', position),
    length: readU64(buf, 16, 'record length', position),
    checksum: Buffer.from(buf.subarray(24, 24 + HASH_BYTES)),
  };
}

export function encodeTrailerCounts(recordCount: number, dataBytes: number, logBytes: number): Buffer {
  const buf = Buffer.alloc(24);
  buf.writeBigUInt64LE(BigInt(recordCount), 0);
  buf.writeBigUInt64LE(BigInt(dataBytes), 8);
  buf.writeBigUInt64LE(BigInt(logBytes), 16);
  return buf;
}
