/**
 * The checksum of one log record, over its 24-byte prefix (type, codec, lengths, offset) and its
 * uncompressed payload: the only hash that covers payload bytes (log-format.ts), so the one that costs CPU
 * per byte on both hosts. Three algorithms, named by the log itself so that any reader (a replica server
 * restarted with logs in incoming/, an import from removable media) verifies a log without being told:
 *
 *   sha256  format version 1 and 2: SHA-256(prefix ‖ payload), on the calling thread (node:crypto, SHA-NI).
 *   blake3  format version 3 with algorithm byte 3: BLAKE3(prefix ‖ BLAKE3(payload)), the payload's digest
 *           computed by the addon (native/src/hash/, AVX-512 or AVX2), off the main thread when it is large.
 *   xxh128  format version 4 with algorithm byte 4: XXH3-128(prefix ‖ XXH3-128(payload)), each digest in
 *           xxHash's canonical (big-endian) form, the 16-byte result followed by 16 zero bytes in the
 *           32-byte field; the payload's digest by the addon (xxHash, streamed over the pieces a payload
 *           arrived in: nothing joined), off the main thread when it is large.
 *
 * Measured on this VM (2026-12-07, 1 MiB records, this function, CPU time): SHA-256 0.62 s per GiB, BLAKE3
 * (AVX-512) 0.24–0.38 s, XXH3-128 0.13 s, on each side of the wire (bench/replication/README.md, "Wire CPU" and
 * "Record checksums by XXH3-128": in a 2 GiB initial copy 0.07 s per GiB a side, against BLAKE3's 0.2–0.34). The payload
 * is hashed on its own and its digest hashed again with the prefix because the reader of a record's data
 * computes that digest before the prefix exists (the codec and stored length come from the compression that
 * follows: src/engine/read-ahead.ts), and because the addon's BLAKE3 hashes one contiguous buffer. The nested
 * construction is as collision resistant as its hash (a collision of the outer hash with a fixed-length
 * prefix is one of the hash or of its inner use).
 *
 * What the checksum guards against is damage, not an attacker: bits flipped in memory, on a disk or removable
 * medium, by a bug (a buffer reused too early, a codec, the staging and hollow paths). The wire is guarded by
 * TLS 1.3 with mutual authentication, and no record checksum is keyed: whoever can alter a stored log can
 * recompute SHA-256 as easily as XXH3-128. docs/replication-protocol.md ("Record checksums") says why a
 * 128-bit non-cryptographic hash is enough for that, and what cryptographic strength would add.
 */
import { createHash } from 'node:crypto';
import { blake3, blake3HasSimd, blake3Pieces } from '../native/blake3.js';
import type { NativeBlockHash } from '../native/block-hash.js';
import { xxh128, xxh128Pieces } from '../native/xxh128.js';

export type RecordHashAlgorithm = 'sha256' | 'blake3' | 'xxh128';

export const RECORD_HASH_ALGORITHMS: readonly RecordHashAlgorithm[] = ['sha256', 'blake3', 'xxh128'];

/** What every reader of every version knows, and what a log without an algorithm byte (versions 1, 2) uses. */
export const DEFAULT_RECORD_HASH: RecordHashAlgorithm = 'sha256';

/** What a primary writes when both sides list it, best first (the cheapest a byte); SHA-256 when none is shared. */
const PREFERRED_RECORD_HASHES: readonly RecordHashAlgorithm[] = ['xxh128', 'blake3'];

/** Stable codes of the algorithm byte of a version 3 or 4 header; the numbers of the hash manifest's (never renumber). */
export const RECORD_HASH_CODE: Record<RecordHashAlgorithm, number> = { sha256: 1, blake3: 3, xxh128: 4 };

/**
 * The record checksums built on a digest of the payload alone (by the addon): the reader of a record's data
 * may compute that digest with the read and hand it over (PayloadDigest), so the payload is not hashed again.
 */
export type NestedRecordHash = Extract<RecordHashAlgorithm, NativeBlockHash>;

/** The digest of a record's whole uncompressed payload by a nested record checksum's own hash. */
export interface PayloadDigest {
  algorithm: NestedRecordHash;
  /** BLAKE3: 32 bytes; XXH3-128: 16 (a 32-byte slot of a read may be given: only its first 16 bytes count). */
  digest: Buffer;
}

interface NestedHash {
  /** The digest's own length (the 32-byte record checksum field is padded with zeros after it). */
  digestBytes: number;
  /** On the calling thread (small inputs). */
  digest(data: Uint8Array): Buffer;
  /** Off the main thread, of pieces back to back. */
  digestPieces(pieces: readonly Uint8Array[]): Promise<Buffer>;
  /**
   * Payloads at least this large are hashed on libuv's pool, so the main thread moves the wire meanwhile:
   * about the bytes each hashes in 30 µs, a pool round trip's worth (BLAKE3 ~4.5 GB/s, XXH3-128 ~19 GB/s).
   */
  offThreadBytes: number;
}

const NESTED: Record<NestedRecordHash, NestedHash> = {
  blake3: { digestBytes: 32, digest: (data) => blake3(data), digestPieces: (pieces) => blake3Pieces(pieces), offThreadBytes: 128 * 1024 },
  xxh128: { digestBytes: 16, digest: xxh128, digestPieces: xxh128Pieces, offThreadBytes: 512 * 1024 },
};

const CHECKSUM_BYTES = 32;

export function isRecordHashAlgorithm(name: string): name is RecordHashAlgorithm {
  return (RECORD_HASH_ALGORITHMS as readonly string[]).includes(name);
}

export function isNestedRecordHash(algorithm: RecordHashAlgorithm): algorithm is NestedRecordHash {
  return algorithm in NESTED;
}

export function recordHashOfCode(code: number): RecordHashAlgorithm | undefined {
  return RECORD_HASH_ALGORITHMS.find((algorithm) => RECORD_HASH_CODE[algorithm] === code);
}

/**
 * The algorithms worth writing and being sent here: BLAKE3 only where the addon has a SIMD path (its portable
 * code is slower than SHA-NI's SHA-256); XXH3-128 everywhere (even at the SSE2 baseline it outruns both). Any
 * reader still verifies all three, whatever this says.
 */
export function recordHashesWorthUsingHere(): RecordHashAlgorithm[] {
  const simd = blake3HasSimd();
  return RECORD_HASH_ALGORITHMS.filter((algorithm) => algorithm !== 'blake3' || simd);
}

/**
 * The algorithm a primary writes for a replica that listed `theirs` (absent from servers before protocol 4,
 * which read SHA-256 logs only; without XXH3-128 from servers before protocol 6): the first of XXH3-128 and
 * BLAKE3 both sides list, else SHA-256.
 */
export function agreedRecordHash(theirs: readonly string[] | undefined, usableHere: readonly RecordHashAlgorithm[]): RecordHashAlgorithm {
  return PREFERRED_RECORD_HASHES.find((algorithm) => theirs?.includes(algorithm) && usableHere.includes(algorithm)) ?? DEFAULT_RECORD_HASH;
}

/**
 * The checksum of a record: its 24-byte prefix, and its uncompressed payload for a data record, in the
 * pieces it is held in (a received record keeps the network chunks it arrived in; they are never joined in JS).
 */
export function recordChecksum(algorithm: RecordHashAlgorithm, prefix: Buffer, payload?: readonly Buffer[]): Promise<Buffer> {
  if (!isNestedRecordHash(algorithm)) {
    const hash = createHash('sha256').update(prefix);
    for (const piece of payload ?? []) hash.update(piece);
    return Promise.resolve(hash.digest());
  }
  const nested = NESTED[algorithm];
  if (!payload) return Promise.resolve(inField(nested, nested.digest(prefix)));
  const length = payload.reduce((sum, piece) => sum + piece.length, 0);
  const inner =
    length >= nested.offThreadBytes
      ? nested.digestPieces(payload)
      : Promise.resolve(nested.digest(payload.length === 1 ? payload[0]! : Buffer.concat(payload, length)));
  return inner.then((digest) => recordChecksumOfPayloadDigest(prefix, { algorithm, digest }));
}

/**
 * The record checksum from the digest of the record's whole uncompressed payload, computed by whoever held the
 * bytes (the VHDX engine hashes what it reads in the same job: no second pass, no trip to the pool).
 */
export function recordChecksumOfPayloadDigest(prefix: Buffer, payload: PayloadDigest): Buffer {
  const nested = NESTED[payload.algorithm];
  return inField(nested, nested.digest(Buffer.concat([prefix, payload.digest.subarray(0, nested.digestBytes)])));
}

/** A digest as the 32-byte checksum field holds it: zeros after a shorter one (which a reader checks too). */
function inField(nested: NestedHash, digest: Buffer): Buffer {
  return nested.digestBytes === CHECKSUM_BYTES ? digest : Buffer.concat([digest, Buffer.alloc(CHECKSUM_BYTES - nested.digestBytes)]);
}
