/**
 * Worker-thread body of the hash pool: digests every block of each batch it is sent. Hashing is CPU
 * bound and node:crypto runs it on the calling thread, so parallelism needs workers.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { CRYPTO_NAME, DIGEST_SIZE, type CryptoHashAlgorithm } from './hash-algorithm.js';

export interface HashRequest {
  id: number;
  algorithm: CryptoHashAlgorithm;
  blockSize: number;
  data: ArrayBuffer;
  length: number;
}

export interface HashReply {
  id: number;
  digests: ArrayBuffer;
  /** The request's data, handed back so the sender can read the next window into it. */
  data: ArrayBuffer;
}

const port = parentPort;
if (port) {
  port.on('message', (request: HashRequest) => {
    const data = new Uint8Array(request.data, 0, request.length);
    const count = Math.ceil(request.length / request.blockSize);
    const digests = new Uint8Array(count * DIGEST_SIZE);
    const name = CRYPTO_NAME[request.algorithm];
    for (let i = 0; i < count; i++) {
      const block = data.subarray(i * request.blockSize, Math.min(request.length, (i + 1) * request.blockSize));
      digests.set(createHash(name).update(block).digest().subarray(0, DIGEST_SIZE), i * DIGEST_SIZE);
    }
    const reply: HashReply = { id: request.id, digests: digests.buffer, data: request.data };
    port.postMessage(reply, [digests.buffer, request.data]);
  });
}
