/**
 * A DiskImage over a ContentModel, with the allocation map a sparse format reports, so the hash tracker
 * can be run through the contract suite on a multi-GiB disk without multi-GiB of I/O.
 */
import type { AllocationExtent, DiskImage } from '../../src/host/disk-image.js';
import type { ContentModel } from './content-model.js';

export class MemoryImage implements DiskImage {
  readonly logicalSectorSize = 512 as const;
  constructor(private readonly model: ContentModel) {}

  get virtualSize(): number {
    return this.model.virtualSize;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (offset < 0 || length < 0 || offset + length > this.virtualSize) throw new RangeError(`read past the end: ${offset}+${length}`);
    return this.model.read(offset, length);
  }

  async allocation(): Promise<AllocationExtent[]> {
    const out: AllocationExtent[] = [];
    let at = 0;
    for (const [start, end] of this.model.allocated()) {
      if (start > at) out.push({ offset: at, length: start - at, state: 'absent' });
      out.push({ offset: start, length: end - start, state: 'data' });
      at = end;
    }
    if (at < this.virtualSize) out.push({ offset: at, length: this.virtualSize - at, state: 'absent' });
    return out;
  }

  async close(): Promise<void> {}
}
