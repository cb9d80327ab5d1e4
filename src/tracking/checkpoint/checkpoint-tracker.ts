/**
 * The checkpoint change tracker: the changes since a reference point are exactly what the differencing
 * layers created since that point hold, read from their BAT and sector bitmaps (the VHDX engine's
 * layer-only map). The cost is proportional to the changes, never to the disk.
 *
 * A layer records the point it was created at (`since`): its contents are the writes made after that
 * point. The tracker is bound to the image frozen at point `pointId`, whose chain above the last
 * committed base is `layers` (bottom first). Changes since an older point P are the union of the layers
 * created at P and after.
 */
import { openDisk } from '../../vhdx/index.js';
import { ResyncRequiredError, type ChangedExtent, type ChangesOptions, type ChangeTracker, type TrackingId } from '../change-tracker.js';
import { ExtentCoalescer, throwIfAborted } from '../extents.js';

export interface CheckpointLayer {
  /** The .avhdx file. */
  path: string;
  /** The reference point this layer's writes start from. */
  since: TrackingId;
}

export interface CheckpointTrackerOptions {
  /** The point the frozen image belongs to. */
  pointId: TrackingId;
  virtualSize: number;
  logicalSectorSize: 512 | 4096;
  /** The frozen layers above the base, bottom first; read when a listing starts (they can change by commits). */
  layers: () => Promise<CheckpointLayer[]>;
}

interface LayerExtent {
  offset: number;
  end: number;
  kind: 'data' | 'zero';
  layer: number;
}

/** Splits overlapping extents of several layers so the topmost layer decides each byte's kind. */
function topmostUnion(extents: LayerExtent[]): Array<{ offset: number; end: number; kind: 'data' | 'zero' }> {
  const points = [...new Set(extents.flatMap((e) => [e.offset, e.end]))].sort((a, b) => a - b);
  const out: Array<{ offset: number; end: number; kind: 'data' | 'zero' }> = [];
  const byStart = [...extents].sort((a, b) => a.offset - b.offset);
  const active: LayerExtent[] = [];
  let next = 0;
  for (let i = 0; i + 1 < points.length; i++) {
    const from = points[i]!;
    const to = points[i + 1]!;
    while (next < byStart.length && byStart[next]!.offset <= from) active.push(byStart[next++]!);
    for (let j = active.length - 1; j >= 0; j--) if (active[j]!.end <= from) active.splice(j, 1);
    if (active.length === 0) continue;
    const top = active.reduce((a, b) => (b.layer > a.layer ? b : a));
    out.push({ offset: from, end: to, kind: top.kind });
  }
  return out;
}

export class CheckpointTracker implements ChangeTracker {
  readonly kind = 'checkpoint' as const;
  readonly granularity: number;
  readonly virtualSize: number;

  constructor(private readonly options: CheckpointTrackerOptions) {
    this.granularity = options.logicalSectorSize;
    this.virtualSize = options.virtualSize;
  }

  async enable(): Promise<TrackingId> {
    return this.options.pointId;
  }

  async currentId(): Promise<TrackingId> {
    return this.options.pointId;
  }

  async *changesSince(since: TrackingId, options: ChangesOptions = {}): AsyncIterable<ChangedExtent> {
    if (since === this.options.pointId) return;
    const layers = await this.options.layers();
    const first = layers.findIndex((layer) => layer.since === since);
    if (first < 0) {
      throw new ResyncRequiredError(
        `reference point '${since}' is not below point '${this.options.pointId}' any more (it was committed, discarded or never taken); resynchronise the disk`,
        'unknown-id',
      );
    }
    const selected = layers.slice(first);
    const out = new ExtentCoalescer();
    if (selected.length === 1) {
      // The common case (one cycle): stream one layer's map straight through.
      for (const extent of await this.layerMap(selected[0]!.path)) {
        throwIfAborted(options.signal);
        if (extent.state !== 'absent') out.push(extent.offset, extent.length, extent.state);
        yield* out.take();
      }
      yield* out.finish();
      return;
    }
    const all: LayerExtent[] = [];
    for (const [index, layer] of selected.entries()) {
      throwIfAborted(options.signal);
      for (const extent of await this.layerMap(layer.path)) {
        if (extent.state !== 'absent') all.push({ offset: extent.offset, end: extent.offset + extent.length, kind: extent.state, layer: index });
      }
    }
    for (const extent of topmostUnion(all)) {
      out.push(extent.offset, extent.end - extent.offset, extent.kind);
      yield* out.take();
    }
    yield* out.finish();
  }

  async close(): Promise<void> {}

  private async layerMap(path: string): Promise<Array<{ offset: number; length: number; state: 'data' | 'zero' | 'absent' }>> {
    const disk = await openDisk(path, { writable: false });
    try {
      if (disk.info.type !== 'differencing') {
        throw new ResyncRequiredError(`'${path}' is not a differencing layer any more; resynchronise the disk`, 'tracking-inconsistent');
      }
      return await disk.map({ layerOnly: true });
    } finally {
      await disk.close();
    }
  }
}
