/** Logs as an earlier build wrote them, for the paths that must still read them. */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * The same log in format version 1: version 1 in the header (its CRC redone) and the whole-log hash over
 * every byte before it, payloads included (what version 2 leaves to the record hashes).
 */
export function asVersion1(v2: Buffer): Buffer {
  const log = Buffer.from(v2);
  log.writeUInt16LE(1, 8);
  const headerLength = log.readUInt16LE(10);
  log.writeUInt32LE(crc32(log.subarray(0, headerLength - 4)), headerLength - 4);
  const hashAt = log.length - 40;
  createHash('sha256').update(log.subarray(0, hashAt)).digest().copy(log, hashAt);
  return log;
}
