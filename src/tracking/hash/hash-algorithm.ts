import type { NativeBlockHash } from '../../native/block-hash.js';

/**
 * The per-block digest of the hash tracker and of comparisons by hash (resync).
 *
 * Measured (bench/tracking/hash-candidates.ts, one core, node 20.20 / OpenSSL 3.0, x86-64 with SHA-NI and
 * AVX-512, 2026-11-25 idle; the blake3 rows 2026-12-07 on the same VM at load 6.5, where sha256 gave
 * 1166 MiB/s, so about 3.9× SHA-256 with AVX-512, 2.1× with AVX2, 0.3× in portable code):
 *
 *   algorithm     64 KiB blocks   1 MiB blocks
 *   xxh128          18919 MiB/s                  (XXH3-128, xxHash header-only, SSE2; 2026-12-07 at load 7, where
 *                                                 blake3 gave 4912 MiB/s with AVX-512: about 3.9× BLAKE3)
 *   blake3          4543 MiB/s                   (the addon's own, native/src/hash/: AVX-512, 16 chunks at once)
 *                   2482 MiB/s                   (AVX2, 8 chunks at once)
 *                    354 MiB/s                   (portable code: SHA-256 stays the choice there)
 *   sha256          1425 MiB/s      1620 MiB/s   (OpenSSL uses the SHA-NI instructions)
 *   blake2b512      1122 MiB/s      1190 MiB/s
 *   sha512-256       885 MiB/s       944 MiB/s
 *   blake2s256       721 MiB/s       732 MiB/s
 *   sha3-256         481 MiB/s       489 MiB/s
 *
 * All but xxh128 are collision resistant (128-bit security at 256 bits). XXH3-128 is not cryptographic: a
 * collision would silently leave a replica block wrong, but the two blocks compared are two copies of the
 * same disk, neither chosen to collide with the other, and an accidental collision of a 128-bit hash of this
 * quality is ~2^-128 per differing block (rsync compares files with it for the same job). A guest could craft
 * a colliding pair (write one block, let it replicate, write the other while tracking is lost), but that only
 * leaves its own replica wrong, which it could as well do by writing wrong data. So comparisons prefer it (a whole 4 GiB disk hashes in a fraction of BLAKE3's CPU time,
 * which bounds a resync on a busy host), and so do the replication log's record checksums (record-hash.ts:
 * they guard against damage, not an attacker); the hash tracker's saved states keep a cryptographic hash. Comparisons
 * take the first of PREFERRED_SYNC_ALGORITHMS both sides offer; SHA-256 stays the default of everything
 * stored before the others existed (kept manifests without an algorithm in their name) and what an older
 * server is asked for. Both sides of a comparison must use the same algorithm, so the manifest records it
 * and comparing manifests of different algorithms is refused. docs/replication-protocol.md, "Comparing by hash".
 */
export type HashAlgorithm = 'sha256' | 'blake2b' | 'blake3' | 'xxh128';

export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha256', 'blake2b', 'blake3', 'xxh128'];

export const DEFAULT_HASH_ALGORITHM: HashAlgorithm = 'sha256';

/** What a comparison by hash asks for, best first, when both sides have it (see above); SHA-256 else. */
export const PREFERRED_SYNC_ALGORITHMS: readonly HashAlgorithm[] = ['xxh128', 'blake3'];

/** Bytes stored per block, whatever the algorithm (XXH3-128's 16-byte digest, then 16 zero bytes). */
export const DIGEST_SIZE = 32;

/** Algorithms node:crypto computes (in the hash pool's worker threads); BLAKE3 and XXH3-128 come from the addon. */
export type CryptoHashAlgorithm = Exclude<HashAlgorithm, NativeBlockHash>;

/** The node:crypto name of each algorithm node:crypto computes. */
export const CRYPTO_NAME: Record<CryptoHashAlgorithm, string> = { sha256: 'sha256', blake2b: 'blake2b512' };

/** Stable numbers used in the manifest header; never renumber. */
export const ALGORITHM_CODE: Record<HashAlgorithm, number> = { sha256: 1, blake2b: 2, blake3: 3, xxh128: 4 };

/** The algorithms the addon computes (a window per call on the libuv pool, or read and hashed by the VHDX engine). */
export function isNative(algorithm: HashAlgorithm): algorithm is NativeBlockHash {
  return algorithm === 'blake3' || algorithm === 'xxh128';
}

export function isHashAlgorithm(name: string): name is HashAlgorithm {
  return (HASH_ALGORITHMS as readonly string[]).includes(name);
}
