/**
 * The RCT change tracker (Hyper-V Resilient Change Tracking): asks virtdisk's QueryChangesVirtualDisk for
 * the ranges changed since an RCT id on the disk frozen by a reference point. The loop over
 * ProcessedLength and the status mapping live in native/src/tracking; this wraps a session and streams
 * its pages. On Linux it runs against FakeVirtDisk.
 */
import { isNativeError, NativeError } from '../../native/native-error.js';
import {
  ResyncRequiredError,
  type ChangedExtent,
  type ChangesOptions,
  type ChangeTracker,
  type ResyncReason,
  type TrackingId,
} from '../change-tracker.js';
import { ExtentCoalescer, throwIfAborted } from '../extents.js';
import type { FakeVirtDisk } from './fake-virtdisk.js';
import { trackingBinding, type RawRctInfo, type RawRctSession } from './rct-binding.js';

export interface RctTrackerOptions {
  /** The VHDX to query: the disk frozen by the reference point (never the live .avhdx). */
  path: string;
  /** Query this fake instead of the system's virtdisk.dll. */
  virtdisk?: FakeVirtDisk;
  /**
   * Unit of the ranges virtdisk reports, when known. Default: the disk's block size, an upper bound
   * (Hyper-V tracks in units of tens of KiB, never more than a block).
   */
  granularity?: number;
  /** Ranges per native call; bounds memory for disks of many TiB. */
  pageRanges?: number;
}

// Raw virtdisk statuses (winerror.h), to say why continuity is lost.
const REASON_BY_STATUS = new Map<number, ResyncReason>([
  [0xc03a0029 | 0, 'invalid-id'],
  [0xc03a002a | 0, 'tracking-disabled'],
  [0xc03a0030 | 0, 'history-lost'],
  [0xc03a0022 | 0, 'changed-offline'],
  [0xc03a0020 | 0, 'tracking-disabled'],
  [0xc03a0021 | 0, 'history-lost'],
  [0xc03a0023 | 0, 'tracking-inconsistent'],
  [0xc03a0024 | 0, 'tracking-inconsistent'],
  [87, 'invalid-id'],
]);

function asResync(error: unknown): unknown {
  if (!isNativeError(error, 'ERR_RESYNC_REQUIRED')) return error;
  const reason = REASON_BY_STATUS.get((error as NativeError).errno | 0) ?? 'tracking-inconsistent';
  return new ResyncRequiredError(error.message, reason, error.errno);
}

export class RctTracker implements ChangeTracker {
  readonly kind = 'rct' as const;
  private session: RawRctSession | undefined;

  private constructor(
    private readonly options: RctTrackerOptions,
    session: RawRctSession,
    readonly virtualSize: number,
    readonly granularity: number,
  ) {
    this.session = session;
  }

  static async open(options: RctTrackerOptions): Promise<RctTracker> {
    const native = trackingBinding();
    const session = await native.rctOpen(options.virtdisk?.raw ?? null, options.path, true);
    try {
      const info = await native.rctInfo(session);
      return new RctTracker(options, session, info.virtualSize, options.granularity ?? info.blockSize);
    } catch (error) {
      native.rctClose(session);
      throw error;
    }
  }

  async info(): Promise<RawRctInfo> {
    return trackingBinding().rctInfo(this.open());
  }

  async enable(): Promise<TrackingId> {
    const info = await this.info();
    if (!info.enabled) await trackingBinding().rctSetEnabled(this.open(), true);
    return this.currentId();
  }

  async currentId(): Promise<TrackingId> {
    const info = await this.info();
    if (!info.enabled || info.mostRecentId === '') {
      throw new ResyncRequiredError(`change tracking is off on '${this.options.path}'; enable it and resynchronise the disk`, 'tracking-disabled');
    }
    return info.mostRecentId;
  }

  async *changesSince(since: TrackingId, options: ChangesOptions = {}): AsyncIterable<ChangedExtent> {
    const session = this.open();
    const pageRanges = this.options.pageRanges ?? 4096;
    const out = new ExtentCoalescer();
    let offset = 0;
    while (offset < this.virtualSize) {
      throwIfAborted(options.signal);
      let page: { ranges: Float64Array; nextOffset: number };
      try {
        page = await trackingBinding().rctQuery(session, since, offset, this.virtualSize, pageRanges);
      } catch (error) {
        throw asResync(error);
      }
      for (let i = 0; i + 1 < page.ranges.length; i += 2) out.push(page.ranges[i]!, page.ranges[i + 1]!, 'unknown');
      yield* out.take();
      if (page.nextOffset <= offset) {
        throw new NativeError(`RCT query on '${this.options.path}' made no progress at offset ${offset}`, { code: 'ERR_IO' });
      }
      offset = page.nextOffset;
    }
    yield* out.finish();
  }

  async close(): Promise<void> {
    if (this.session) trackingBinding().rctClose(this.session);
    this.session = undefined;
  }

  private open(): RawRctSession {
    if (!this.session) throw new NativeError('the RCT tracker is closed', { code: 'ERR_INVALID_ARGUMENT' });
    return this.session;
  }
}
