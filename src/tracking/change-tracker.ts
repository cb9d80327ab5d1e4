/**
 * The change-tracker interface: which extents of one disk changed between an older tracking id and the
 * state the tracker is bound to. Three implementations (checkpoint, hash, rct) pass one contract suite
 * (test/tracking/contract.ts); `createChangeTracker` in ./factory.ts picks one.
 *
 * Extents are virtual-disk byte ranges, sorted and non-overlapping; neighbours of the same kind are
 * coalesced, so adjacent extents differ in kind. They cover every byte written since the id; a tracker may report more than was written,
 * but only within its granularity: every reported byte lies in a `granularity`-aligned unit that a write
 * touched (the hash tracker may omit writes that left the content unchanged, it compares content).
 */
export type TrackerKind = 'checkpoint' | 'hash' | 'rct';

export const TRACKER_KINDS: readonly TrackerKind[] = ['checkpoint', 'hash', 'rct'];

/** What the tracker knows of the content there: zero lets the engine send a zero record without reading. */
export type ChangeKind = 'data' | 'zero' | 'unknown';

export interface ChangedExtent {
  offset: number;
  length: number;
  kind: ChangeKind;
}

/** An opaque string that names a tracked state of a disk; persisted by the engine between cycles. */
export type TrackingId = string;

export interface ChangesOptions {
  /** Stops the listing early; the iterator then throws the signal's reason. */
  signal?: AbortSignal;
}

export interface ChangeTracker {
  readonly kind: TrackerKind;
  /** Bytes; every extent boundary is a multiple of it (or the disk's end). */
  readonly granularity: number;
  readonly virtualSize: number;
  /** Starts tracking (idempotent) and returns the id of the bound state. */
  enable(): Promise<TrackingId>;
  /** The id of the state this tracker is bound to; ERR_RESYNC_REQUIRED when tracking is off. */
  currentId(): Promise<TrackingId>;
  /**
   * Streams the extents changed between `since` and the bound state, in ascending order, with memory
   * bounded independently of the disk size. Throws ResyncRequiredError when the tracker cannot tell
   * (unknown or invalidated id, tracking lost); the engine then resynchronises with the hash tracker.
   */
  changesSince(since: TrackingId, options?: ChangesOptions): AsyncIterable<ChangedExtent>;
  close(): Promise<void>;
}

export type ResyncReason =
  | 'unknown-id'
  | 'invalid-id'
  | 'tracking-disabled'
  | 'history-lost'
  | 'changed-offline'
  | 'tracking-inconsistent';

/** Tracking continuity is lost for this disk: only a resynchronisation can bring the replica back in step. */
export class ResyncRequiredError extends Error {
  readonly code = 'ERR_RESYNC_REQUIRED' as const;
  constructor(
    message: string,
    readonly reason: ResyncReason,
    readonly errno = 0,
  ) {
    super(message);
    this.name = 'ResyncRequiredError';
  }
}

export function isResyncRequired(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === 'ERR_RESYNC_REQUIRED';
}

/** Collects a whole listing (tests and small disks only: the listing of a big disk should be streamed). */
export async function collectChanges(changes: AsyncIterable<ChangedExtent>): Promise<ChangedExtent[]> {
  const out: ChangedExtent[] = [];
  for await (const extent of changes) out.push(extent);
  return out;
}

/** Bytes a listing covers (extents are disjoint, so this is the size of their union); streamed. */
export async function changedBytesOf(changes: AsyncIterable<ChangedExtent>): Promise<number> {
  let total = 0;
  for await (const extent of changes) total += extent.length;
  return total;
}
