/**
 * A VHDX chain opened through the VHDX engine, as a DiskImage (with its allocation map, so readers skip
 * what reads as zeros).
 */
import type { NativeBlockHash, RangeDigests } from '../native/block-hash.js';
import { openDisk, type VhdxDisk } from '../vhdx/index.js';
import type { AllocationExtent, DiskImage } from './disk-image.js';

export class VhdxImage implements DiskImage {
  private constructor(readonly disk: VhdxDisk) {}

  /** Opens `path` (and its parents) read-only. */
  static async open(path: string): Promise<VhdxImage> {
    return new VhdxImage(await openDisk(path, { writable: false }));
  }

  get virtualSize(): number {
    return this.disk.info.virtualSize;
  }

  get logicalSectorSize(): 512 | 4096 {
    return this.disk.info.logicalSectorSize;
  }

  read(offset: number, length: number): Promise<Buffer> {
    return this.disk.read(offset, length);
  }

  async readInto(offset: number, into: Buffer): Promise<void> {
    await this.disk.read(offset, into);
  }

  readRanges(ranges: readonly { offset: number; length: number }[], into: Buffer, digests?: RangeDigests): Promise<void> {
    return this.disk.readRanges(ranges, into, digests);
  }

  hashBlocks(algorithm: NativeBlockHash, offset: number, length: number, blockSize: number): Promise<Buffer> {
    return this.disk.hashBlocks(algorithm, offset, length, blockSize);
  }

  allocation(): Promise<AllocationExtent[]> {
    return this.disk.map();
  }

  close(): Promise<void> {
    return this.disk.close();
  }
}
