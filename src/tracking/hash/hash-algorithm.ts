/**
 * The per-block digest of the hash tracker.
 *
 * Chosen by measurement (bench/tracking/hash-candidates.ts, one core, node 20.20 / OpenSSL 3.0, x86-64
 * with SHA-NI and AVX-512, 2026-11-25):
 *
 *   algorithm     64 KiB blocks   1 MiB blocks
 *   sha256          1425 MiB/s      1620 MiB/s   (OpenSSL uses the SHA-NI instructions)
 *   blake2b512      1122 MiB/s      1190 MiB/s
 *   sha512-256       885 MiB/s       944 MiB/s
 *   blake2s256       721 MiB/s       732 MiB/s
 *   sha3-256         481 MiB/s       489 MiB/s
 *
 * SHA-256 is the fastest strong hash here and is collision resistant (128-bit security), so it is the
 * default. Both sides of a comparison must use the same algorithm, so the manifest records it. On CPUs
 * without SHA extensions SHA-256 drops to roughly a third of that, below BLAKE2b, which stays available as
 * 'blake2b' (BLAKE2b-512 truncated to 256 bits). Non-cryptographic hashes (XXH3, CRC) are faster still but
 * are not collision resistant, and a collision here silently leaves a replica block wrong.
 */
export type HashAlgorithm = 'sha256' | 'blake2b';

export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha256', 'blake2b'];

export const DEFAULT_HASH_ALGORITHM: HashAlgorithm = 'sha256';

/** Bytes stored per block, whatever the algorithm. */
export const DIGEST_SIZE = 32;

/** The node:crypto name for each algorithm. */
export const CRYPTO_NAME: Record<HashAlgorithm, string> = { sha256: 'sha256', blake2b: 'blake2b512' };

/** Stable numbers used in the manifest header; never renumber. */
export const ALGORITHM_CODE: Record<HashAlgorithm, number> = { sha256: 1, blake2b: 2 };
