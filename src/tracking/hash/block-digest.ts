/** One digest of one piece of data, whatever the algorithm (zero digests, tests): the addon for BLAKE3, node:crypto else. */
import { createHash } from 'node:crypto';
import { blake3 } from '../../native/blake3.js';
import { CRYPTO_NAME, DIGEST_SIZE, type HashAlgorithm } from './hash-algorithm.js';

export function digestOf(algorithm: HashAlgorithm, data: Uint8Array): Buffer {
  if (algorithm === 'blake3') return blake3(data);
  return createHash(CRYPTO_NAME[algorithm]).update(data).digest().subarray(0, DIGEST_SIZE);
}
