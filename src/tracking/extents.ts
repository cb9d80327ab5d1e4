/**
 * Small helpers every tracker shares for turning per-unit change facts into the sorted, coalesced
 * extent stream the ChangeTracker contract promises.
 */
import type { ChangedExtent, ChangeKind } from './change-tracker.js';

/**
 * Accumulates ascending, non-overlapping extents and hands out coalesced ones: neighbours of the same
 * kind are joined, so a run of changed blocks becomes one extent. Feed with `push`, drain with `take`.
 */
export class ExtentCoalescer {
  private pending: ChangedExtent | undefined;
  private ready: ChangedExtent[] = [];

  push(offset: number, length: number, kind: ChangeKind): void {
    if (length <= 0) return;
    const last = this.pending;
    if (last && offset < last.offset + last.length) {
      throw new Error(`internal error: extents out of order (${offset} after ${last.offset}+${last.length})`);
    }
    if (last && last.offset + last.length === offset && last.kind === kind) {
      last.length += length;
      return;
    }
    if (last) this.ready.push(last);
    this.pending = { offset, length, kind };
  }

  /** Completed extents so far (the last one may still grow and stays pending). */
  take(): ChangedExtent[] {
    const out = this.ready;
    this.ready = [];
    return out;
  }

  /** Everything, including the pending extent. */
  finish(): ChangedExtent[] {
    if (this.pending) this.ready.push(this.pending);
    this.pending = undefined;
    return this.take();
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** Bytes covered by half-open [start, end) ranges, overlaps counted once (sorts `ranges` in place). */
export function unionLength(ranges: Array<[number, number]>): number {
  ranges.sort((a, b) => a[0] - b[0]);
  let total = 0;
  let start = -1;
  let end = -1;
  for (const [s, e] of ranges) {
    if (s > end) {
      total += end - start;
      start = s;
      end = e;
    } else if (e > end) {
      end = e;
    }
  }
  return total + (end - start);
}
