/**
 * A fake of virtdisk.dll + ReadFile/WriteFile on an attached virtual-disk handle, following the
 * documented rules: OpenVirtualDisk V2 returns a handle or a Win32 error; Raw IO needs AttachVirtualDisk
 * with NO_LOCAL_HOST first; reads and writes must be sector-aligned (else ERROR_INVALID_PARAMETER);
 * CloseHandle detaches. The disk is an in-memory byte array.
 */
import type { VirtDiskFake } from '../../src/host/hyperv/native.js';

export class FakeRawDisk implements VirtDiskFake {
  readonly data: Buffer;
  readonly events: string[] = [];
  readonly open_ = new Set<number>();
  private attached = new Set<number>();
  private next = 100;
  openStatus = 0;
  attachStatus = 0;
  readStatus = 0;
  /** Bytes per read call at most (the real call may return less than asked). */
  maxTransfer = Number.MAX_SAFE_INTEGER;

  constructor(
    size: number,
    readonly sectorSize = 512,
  ) {
    this.data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) this.data[i] = (i * 7 + (i >> 9)) & 0xff;
  }

  open(path: string, readOnly: boolean): { status: number; handle?: number } {
    this.events.push(`open ${path} ro=${readOnly}`);
    if (this.openStatus !== 0) return { status: this.openStatus };
    const handle = this.next++;
    this.open_.add(handle);
    return { status: 0, handle };
  }
  attach(handle: number, readOnly: boolean): number {
    this.events.push(`attach ${handle} ro=${readOnly}`);
    if (this.attachStatus !== 0) return this.attachStatus;
    this.attached.add(handle);
    return 0;
  }
  geometry(handle: number) {
    return { status: this.open_.has(handle) ? 0 : 6, virtualSize: this.data.length, blockSize: 1 << 20, sectorSize: this.sectorSize, physicalSectorSize: 4096 };
  }
  read(handle: number, offset: number, length: number): { status: number; data?: Uint8Array } {
    this.events.push(`read ${offset}+${length}`);
    if (!this.attached.has(handle)) return { status: 1 };
    if (this.readStatus !== 0) return { status: this.readStatus };
    if (offset % this.sectorSize !== 0 || length % this.sectorSize !== 0) return { status: 87 };
    const n = Math.min(length, this.maxTransfer);
    return { status: 0, data: this.data.subarray(offset, offset + n) };
  }
  write(handle: number, offset: number, data: Buffer): { status: number; written?: number } {
    this.events.push(`write ${offset}+${data.length}`);
    if (!this.attached.has(handle)) return { status: 1 };
    if (offset % this.sectorSize !== 0 || data.length % this.sectorSize !== 0) return { status: 87 };
    data.copy(this.data, offset);
    return { status: 0, written: data.length };
  }
  close(handle: number): void {
    this.events.push(`close ${handle}`);
    this.open_.delete(handle);
    this.attached.delete(handle);
  }
  systemText(error: number): string {
    return error === 32 ? 'The process cannot access the file because it is being used by another process.' : '';
  }
}
