/**
 * Hashes windows of blocks on every core. SHA-256 and BLAKE2b: a fixed pool of worker threads (one per core
 * by default), node:crypto in each; batches go to the least loaded worker and buffers move by transfer,
 * never by copy. BLAKE3 and XXH3-128: the addon hashes a whole window per call on the libuv pool, no workers needed;
 * `size` then bounds the windows hashed at once.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { nativeHashBlocks, type NativeBlockHash } from '../../native/block-hash.js';
import { isNative, type HashAlgorithm } from './hash-algorithm.js';
import type { HashReply, HashRequest } from './hash-worker.js';

/** Native hashing jobs on the libuv pool at once (it has 4 threads unless UV_THREADPOOL_SIZE says otherwise). */
const MAX_NATIVE_IN_FLIGHT = 3;

/** A batch's digests, and its data buffer back (transferred twice, never copied) for the next batch. */
export interface HashResult {
  digests: Buffer;
  data: Buffer;
}

interface Pending {
  resolve: (result: HashResult) => void;
  reject: (error: Error) => void;
  worker: number;
}

export class HashPool {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;

  constructor(
    readonly algorithm: HashAlgorithm,
    readonly size: number = availableParallelism(),
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`hash pool size must be a positive integer, got ${size}`);
    if (isNative(algorithm)) return;
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./hash-worker.js', import.meta.url));
      worker.on('message', (reply: HashReply) => this.settle(reply));
      worker.on('error', (error: Error) => this.fail(error));
      this.workers.push(worker);
      this.load.push(0);
    }
  }

  /**
   * Digests of every `blockSize` block of the first `length` bytes of `data` (the last may be short).
   * `data` is transferred away and comes back with the result, as a Buffer over the whole of its
   * ArrayBuffer (a window longer than the last read is reused as it is).
   */
  hash(data: Buffer, blockSize: number, length: number = data.length): Promise<HashResult> {
    if (!Number.isSafeInteger(length) || length < 0 || length > data.length) throw new RangeError(`hash length ${length} is outside the ${data.length}-byte buffer`);
    if (this.failure) return Promise.reject(this.failure);
    if (isNative(this.algorithm)) return this.hashNative(this.algorithm, data, blockSize, length);
    const worker = this.load.indexOf(Math.min(...this.load));
    const id = this.nextId++;
    // A pooled Buffer shares its ArrayBuffer with others and cannot be transferred; copy only then, into
    // memory of its own (Buffer.from would take a small copy from the shared pool again).
    const owned = data.byteOffset === 0 && data.buffer.byteLength === data.length ? data : copyOwned(data.subarray(0, length));
    const request: HashRequest = { id, algorithm: this.algorithm, blockSize, data: owned.buffer as ArrayBuffer, length };
    this.load[worker]! += 1;
    return new Promise<HashResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker });
      this.workers[worker]!.postMessage(request, [request.data]);
    });
  }

  get inFlight(): number {
    return this.pending.size + this.nativeInFlight;
  }

  /**
   * Windows worth handing over before waiting for one: two per worker keep every worker busy. Native
   * hashing shares the libuv pool (4 threads by default) with the reads that feed it, so one per core and
   * one more, leaving a thread for the next read; a pool of one (the replica's background keeper) stays on
   * one core.
   */
  get maxInFlight(): number {
    if (!isNative(this.algorithm)) return this.size * 2;
    // At most 3 whatever the cores: with libuv's 4 threads, a fourth job would queue the uploads' writes,
    // fsyncs and VHDX I/O of other cycles behind a comparison.
    return this.size === 1 ? 1 : Math.min(this.size + 1, MAX_NATIVE_IN_FLIGHT);
  }

  private nativeInFlight = 0;

  private async hashNative(algorithm: NativeBlockHash, data: Buffer, blockSize: number, length: number): Promise<HashResult> {
    this.nativeInFlight += 1;
    try {
      return { digests: await nativeHashBlocks(algorithm, data.subarray(0, length), blockSize), data };
    } finally {
      this.nativeInFlight -= 1;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
    this.fail(new Error('hash pool closed'));
  }

  private settle(reply: HashReply): void {
    const entry = this.pending.get(reply.id);
    if (!entry) return;
    this.pending.delete(reply.id);
    this.load[entry.worker]! -= 1;
    entry.resolve({ digests: Buffer.from(reply.digests), data: Buffer.from(reply.data) });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const entry of this.pending.values()) entry.reject(error);
    this.pending.clear();
  }
}

function copyOwned(data: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(data.length);
  data.copy(copy);
  return copy;
}
