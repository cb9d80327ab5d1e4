/**
 * Equal-sized buffers lent out and taken back, so that a stream of reads does not allocate a fresh buffer for
 * every chunk.
 *
 * Why: an initial copy reads the whole disk in 1 MiB chunks, and the upload keeps each chunk for a while
 * (replayable-log.ts keeps 32 MiB to resume from). Fresh chunks that live that long outlive V8's young
 * generation, so their memory is freed only by full (mark-compact) collections: measured on a 1 GiB initial copy,
 * about 50 of them per GiB in the agent, and 3.1 s of agent CPU per GiB against 2.3 s when the same chunks
 * came from a ring of reused buffers (bench/replication/README.md, "Reused read buffers").
 *
 * A buffer may be given back only by the one party that knows nobody reads it any more; the recycler cannot
 * check that, it only refuses what it never lent (another size, a view of part of one, a foreign buffer) and a
 * buffer given back twice.
 */
export class RecycledBuffers {
  private readonly free: ArrayBuffer[] = [];
  /** Every buffer this recycler made, lent out or free. */
  private readonly made = new WeakSet<ArrayBufferLike>();
  /** The free ones (so that a second give-back of the same buffer is refused). */
  private readonly isFree = new WeakSet<ArrayBufferLike>();
  /** Buffers lent in parts (`takeInParts`): the parts not given back yet, length by offset. */
  private readonly partsOut = new WeakMap<ArrayBufferLike, Map<number, number>>();

  constructor(
    /** Bytes of every buffer. */
    readonly size: number,
    /** Free buffers kept at most; more given back are left to the garbage collector. */
    private readonly keepFree: number,
  ) {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`buffer size must be a positive whole number, got ${size}`);
    if (!Number.isSafeInteger(keepFree) || keepFree < 0) throw new RangeError(`free buffers kept must be a whole number, got ${keepFree}`);
  }

  /** A buffer of `size` bytes with unspecified content, no longer used by anyone. */
  take(): Buffer {
    const reused = this.free.pop();
    if (reused) {
      this.isFree.delete(reused);
      return Buffer.from(reused);
    }
    const fresh = new ArrayBuffer(this.size);
    this.made.add(fresh);
    return Buffer.from(fresh);
  }

  /**
   * A buffer whose parts, of `lengths` back to back (adding up to `size`), go separate ways (one record each): it
   * is free again only once every part has been given back, each as a view of exactly that part.
   */
  takeInParts(lengths: readonly number[]): Buffer {
    if (lengths.reduce((sum, n) => sum + n, 0) !== this.size || lengths.some((n) => !(n > 0))) throw new RangeError(`the parts must be positive and add up to ${this.size} bytes`);
    const buffer = this.take();
    const parts = new Map<number, number>();
    let at = 0;
    for (const length of lengths) {
      parts.set(at, length);
      at += length;
    }
    this.partsOut.set(buffer.buffer, parts);
    return buffer;
  }

  /**
   * Takes back a buffer `take()` lent (a view of all of it), or one part of a buffer `takeInParts` lent; returns
   * whether it was taken.
   */
  give(buffer: Uint8Array): boolean {
    const whole = buffer.buffer;
    if (!this.made.has(whole) || this.isFree.has(whole)) return false;
    const parts = this.partsOut.get(whole);
    if (parts) {
      if (parts.get(buffer.byteOffset) !== buffer.byteLength) return false;
      parts.delete(buffer.byteOffset);
      if (parts.size > 0) return true;
      this.partsOut.delete(whole);
    } else if (buffer.byteOffset !== 0 || buffer.byteLength !== this.size) return false;
    if (this.free.length >= this.keepFree) return false;
    this.isFree.add(whole);
    this.free.push(whole as ArrayBuffer);
    return true;
  }

  /** Free buffers held now. */
  get freeCount(): number {
    return this.free.length;
  }
}

/**
 * The primary's read buffers for the records of a log (replicator.ts reads into them; the replayable upload gives
 * them back once no reader can still hold them). 16 free ones bound what an idle agent keeps to 16 MiB.
 */
export const READ_BUFFER_BYTES = 1024 * 1024;
export const readBuffers = new RecycledBuffers(READ_BUFFER_BYTES, 16);

/**
 * The buffers of a full copy's reads, each the data of several records read in one request (read-ahead.ts) and lent
 * in parts, one per record. Four free ones bound what an idle agent keeps to 16 MiB.
 */
export const READ_REQUEST_BYTES = 4 * 1024 * 1024;
export const readRequestBuffers = new RecycledBuffers(READ_REQUEST_BYTES, 4);

/** Gives back a chunk of read data to whichever of the two recyclers lent it; returns whether one took it. */
export function giveBackRead(chunk: Uint8Array): boolean {
  return readBuffers.give(chunk) || readRequestBuffers.give(chunk);
}
