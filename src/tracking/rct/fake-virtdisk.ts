/**
 * The documented-behaviour fake of virtdisk.dll (native/src/tracking/fake_virtdisk.cc), driven from
 * TypeScript: tests and the demo act as Hyper-V (guest writes, reference points, lost tracking) and the RCT
 * tracker queries it through exactly the code path it uses on Windows.
 */
import { trackingBinding, type RawFakeDiskOptions, type RawFakeQueryBehaviour, type RawFakeVirtDisk } from './rct-binding.js';

export type FakeDiskOptions = RawFakeDiskOptions;
export type FakeQueryBehaviour = RawFakeQueryBehaviour;

export class FakeVirtDisk {
  readonly raw: RawFakeVirtDisk = trackingBinding().rctFakeCreate();

  addDisk(path: string, options: FakeDiskOptions): void {
    trackingBinding().rctFakeAddDisk(this.raw, path, options);
  }

  /** The guest wrote (or zeroed, or trimmed) [offset, offset+length). */
  write(path: string, offset: number, length: number): void {
    trackingBinding().rctFakeWrite(this.raw, path, offset, length);
  }

  /** Takes a reference point and returns the disk's new most recent RCT id. */
  seal(path: string): string {
    return trackingBinding().rctFakeSeal(this.raw, path);
  }

  modifyOffline(path: string): void {
    trackingBinding().rctFakeModifyOffline(this.raw, path);
  }

  forgetBefore(path: string, id: string): void {
    trackingBinding().rctFakeForgetBefore(this.raw, path, id);
  }

  setQueryBehaviour(path: string, behaviour: FakeQueryBehaviour): void {
    trackingBinding().rctFakeSetQueryBehaviour(this.raw, path, behaviour);
  }

  queryCalls(path: string): number {
    return trackingBinding().rctFakeQueryCalls(this.raw, path);
  }
}
