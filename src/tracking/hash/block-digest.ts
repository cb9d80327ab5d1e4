/** Digests whatever the algorithm: the addon for BLAKE3, node:crypto else; and which algorithms pay off here. */
import { createHash } from 'node:crypto';
import { blake3, blake3HasSimd } from '../../native/blake3.js';
import { xxh128 } from '../../native/xxh128.js';
import { CRYPTO_NAME, DIGEST_SIZE, HASH_ALGORITHMS, type HashAlgorithm } from './hash-algorithm.js';

/** One digest of one piece of data (zero digests, tests). */
export function digestOf(algorithm: HashAlgorithm, data: Uint8Array): Buffer {
  if (algorithm === 'blake3') return blake3(data);
  if (algorithm === 'xxh128') return Buffer.concat([xxh128(data), Buffer.alloc(DIGEST_SIZE - 16)]);
  return createHash(CRYPTO_NAME[algorithm]).update(data).digest().subarray(0, DIGEST_SIZE);
}

/**
 * The algorithms worth asking a replica for from this machine: BLAKE3 only where the addon has a SIMD path
 * for it (its portable code is slower than SHA-256 with the CPU's SHA instructions: bench/tracking/hash-candidates.ts);
 * XXH3-128 everywhere (xxHash's baseline vector code, SSE2 on x86-64: about 12× SHA-256 a core here).
 */
export function algorithmsWorthUsingHere(): HashAlgorithm[] {
  const simd = blake3HasSimd();
  return HASH_ALGORITHMS.filter((algorithm) => algorithm !== 'blake3' || simd);
}
