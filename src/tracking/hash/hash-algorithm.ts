/**
 * The per-block digest of the hash tracker and of comparisons by hash (resync).
 *
 * Measured (bench/tracking/hash-candidates.ts, one core, node 20.20 / OpenSSL 3.0, x86-64 with SHA-NI and
 * AVX-512, 2026-11-25 idle; the blake3 rows 2026-12-07 on the same VM at load 6.5, where sha256 gave
 * 1166 MiB/s, so about 3.9× SHA-256 with AVX-512, 2.1× with AVX2, 0.3× in portable code):
 *
 *   algorithm     64 KiB blocks   1 MiB blocks
 *   blake3          4543 MiB/s                   (the addon's own, native/src/hash/: AVX-512, 16 chunks at once)
 *                   2482 MiB/s                   (AVX2, 8 chunks at once)
 *                    354 MiB/s                   (portable code: SHA-256 stays the choice there)
 *   sha256          1425 MiB/s      1620 MiB/s   (OpenSSL uses the SHA-NI instructions)
 *   blake2b512      1122 MiB/s      1190 MiB/s
 *   sha512-256       885 MiB/s       944 MiB/s
 *   blake2s256       721 MiB/s       732 MiB/s
 *   sha3-256         481 MiB/s       489 MiB/s
 *
 * All of these are collision resistant (128-bit security at 256 bits), which matters: a collision here
 * silently leaves a replica block wrong. Non-cryptographic hashes (XXH3, CRC) are faster still and are
 * therefore never used. BLAKE3 is what comparisons prefer (hash-sync.ts asks for it when the replica server
 * lists it); SHA-256 stays the default of everything stored before it existed (the hash tracker's saved
 * states, kept manifests without an algorithm in their name) and what an older server is asked for. Both
 * sides of a comparison must use the same algorithm, so the manifest records it and comparing manifests
 * of different algorithms is refused.
 */
export type HashAlgorithm = 'sha256' | 'blake2b' | 'blake3';

export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha256', 'blake2b', 'blake3'];

export const DEFAULT_HASH_ALGORITHM: HashAlgorithm = 'sha256';

/** What a comparison by hash asks for when both sides have it (see above). */
export const PREFERRED_SYNC_ALGORITHM: HashAlgorithm = 'blake3';

/** Bytes stored per block, whatever the algorithm. */
export const DIGEST_SIZE = 32;

/** Algorithms node:crypto computes (in the hash pool's worker threads); BLAKE3 comes from the addon. */
export type CryptoHashAlgorithm = Exclude<HashAlgorithm, 'blake3'>;

/** The node:crypto name of each algorithm node:crypto computes. */
export const CRYPTO_NAME: Record<CryptoHashAlgorithm, string> = { sha256: 'sha256', blake2b: 'blake2b512' };

/** Stable numbers used in the manifest header; never renumber. */
export const ALGORITHM_CODE: Record<HashAlgorithm, number> = { sha256: 1, blake2b: 2, blake3: 3 };

export function isHashAlgorithm(name: string): name is HashAlgorithm {
  return (HASH_ALGORITHMS as readonly string[]).includes(name);
}
