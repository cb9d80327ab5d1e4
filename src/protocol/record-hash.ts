/**
 * The checksum of one log record, over its 24-byte prefix (type, codec, lengths, offset) and its
 * uncompressed payload: the only hash that covers payload bytes (log-format.ts), so the one that costs CPU
 * per byte on both hosts. Two algorithms, named by the log itself so that any reader (a replica server
 * restarted with logs in incoming/, an import from removable media) verifies a log without being told:
 *
 *   sha256  format version 1 and 2: SHA-256(prefix ‖ payload), on the calling thread (node:crypto, SHA-NI).
 *   blake3  format version 3 with algorithm byte 3: BLAKE3(prefix ‖ BLAKE3(payload)), the payload's digest
 *           computed by the addon (native/src/hash/, AVX-512 or AVX2), off the main thread when it is large.
 *
 * Measured on this VM (2026-12-07, 1 MiB records, this function, CPU time): SHA-256 0.62 s per GiB, BLAKE3
 * (AVX-512) 0.24–0.27 s, on each side of the wire (bench/replication/README.md, "Wire CPU"). The payload is
 * hashed on its own and its digest hashed again with the prefix because the addon hashes one contiguous
 * buffer: copying each 1 MiB payload behind its prefix would cost more than the second, 56-byte, hash. The
 * construction is as collision resistant as BLAKE3 (a collision of the outer hash with a fixed-length prefix
 * is one of BLAKE3 or of its inner use).
 */
import { createHash } from 'node:crypto';
import { blake3, blake3HasSimd, blake3Pieces } from '../native/blake3.js';

export type RecordHashAlgorithm = 'sha256' | 'blake3';

export const RECORD_HASH_ALGORITHMS: readonly RecordHashAlgorithm[] = ['sha256', 'blake3'];

/** What every reader of every version knows, and what a log without an algorithm byte (versions 1, 2) uses. */
export const DEFAULT_RECORD_HASH: RecordHashAlgorithm = 'sha256';

/** Stable codes of the algorithm byte of a version 3 header; the numbers of the hash manifest's (never renumber). */
export const RECORD_HASH_CODE: Record<RecordHashAlgorithm, number> = { sha256: 1, blake3: 3 };

/** Payloads at least this large are hashed on libuv's pool: the main thread moves the wire meanwhile. */
const OFF_THREAD_BYTES = 128 * 1024;

export function isRecordHashAlgorithm(name: string): name is RecordHashAlgorithm {
  return (RECORD_HASH_ALGORITHMS as readonly string[]).includes(name);
}

export function recordHashOfCode(code: number): RecordHashAlgorithm | undefined {
  return RECORD_HASH_ALGORITHMS.find((algorithm) => RECORD_HASH_CODE[algorithm] === code);
}

/**
 * The algorithms worth writing and being sent here: BLAKE3 only where the addon has a SIMD path (its portable
 * code is slower than SHA-NI's SHA-256). Any reader still verifies both, whatever this says.
 */
export function recordHashesWorthUsingHere(): RecordHashAlgorithm[] {
  const simd = blake3HasSimd();
  return RECORD_HASH_ALGORITHMS.filter((algorithm) => algorithm !== 'blake3' || simd);
}

/**
 * The algorithm a primary writes for a replica that listed `theirs` (absent from servers before protocol 4,
 * which read SHA-256 logs only): BLAKE3 when both sides find it worth it, else SHA-256.
 */
export function agreedRecordHash(theirs: readonly string[] | undefined, usableHere: readonly RecordHashAlgorithm[]): RecordHashAlgorithm {
  return theirs?.includes('blake3') && usableHere.includes('blake3') ? 'blake3' : DEFAULT_RECORD_HASH;
}

/**
 * The checksum of a record: its 24-byte prefix, and its uncompressed payload for a data record, in the
 * pieces it is held in (a received record keeps the network chunks it arrived in; they are never joined here).
 */
export function recordChecksum(algorithm: RecordHashAlgorithm, prefix: Buffer, payload?: readonly Buffer[]): Promise<Buffer> {
  if (algorithm === 'sha256') {
    const hash = createHash('sha256').update(prefix);
    for (const piece of payload ?? []) hash.update(piece);
    return Promise.resolve(hash.digest());
  }
  if (!payload) return Promise.resolve(blake3(prefix));
  const length = payload.reduce((sum, piece) => sum + piece.length, 0);
  const inner = length >= OFF_THREAD_BYTES ? blake3Pieces(payload) : Promise.resolve(blake3(payload.length === 1 ? payload[0]! : Buffer.concat(payload, length)));
  return inner.then((digest) => blake3RecordChecksum(prefix, digest));
}

/**
 * The BLAKE3 record checksum from the BLAKE3 digest of the record's whole uncompressed payload, computed by whoever
 * held the bytes (the VHDX engine hashes what it reads in the same job: no second pass, no trip to the pool).
 */
export function blake3RecordChecksum(prefix: Buffer, payloadDigest: Buffer): Buffer {
  return blake3(Buffer.concat([prefix, payloadDigest]));
}
