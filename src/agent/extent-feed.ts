/**
 * The differing extents of one disk, published as a comparison finds them (in offset order) and read by
 * the log's encoder as they come, so that the log's upload starts before the whole disk is hashed. Kept
 * whole until the cycle ends: an upload that must resume further back than memory holds encodes the log
 * again from the start (replayable-log.ts) and reads the same extents in the same order.
 */
import type { ChangedExtent } from '../tracking/change-tracker.js';

export class ExtentFeed {
  private readonly extents: ChangedExtent[] = [];
  private ended = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void)[] = [];
  private bytes = 0;

  /** Appends extents found after (at higher offsets than) every earlier one. */
  push(extents: Iterable<ChangedExtent>): void {
    if (this.ended || this.failure) throw new Error('extent feed: push after the end');
    for (const extent of extents) {
      this.extents.push(extent);
      this.bytes += extent.length;
    }
    this.notify();
  }

  /** No more extents: readers finish. */
  end(): void {
    this.ended = true;
    this.notify();
  }

  /** The comparison failed: readers (the log's encoder) throw `error`, so the upload stops with it. */
  fail(error: unknown): void {
    if (this.ended || this.failure) return;
    this.failure = { error };
    this.notify();
  }

  /** Bytes of all the extents so far. */
  get differingBytes(): number {
    return this.bytes;
  }

  /** Every extent from the first, waiting for more until the end; each call reads from the start again. */
  async *read(): AsyncGenerator<ChangedExtent> {
    let next = 0;
    for (;;) {
      if (this.failure) throw this.failure.error;
      if (next < this.extents.length) yield this.extents[next++]!;
      else if (this.ended) return;
      else await new Promise<void>((resolve) => this.wake.push(resolve));
    }
  }

  private notify(): void {
    const waiting = this.wake;
    this.wake = [];
    for (const resolve of waiting) resolve();
  }
}
