/**
 * The raw JS_ surface of native/src/binding/tracking_binding.cc. Only src/tracking/rct uses it.
 */
import { binding, type NativeBinding } from '../../native/binding.js';

export interface RawRctSession {
  readonly __rctSession: unique symbol;
}

export interface RawFakeVirtDisk {
  readonly __fakeVirtDisk: unique symbol;
}

export interface RawRctInfo {
  enabled: boolean;
  newerChanges: boolean;
  mostRecentId: string;
  virtualSize: number;
  physicalSize: number;
  blockSize: number;
  sectorSize: number;
}

export interface RawFakeDiskOptions {
  virtualSize: number;
  granularity?: number;
  blockSize?: number;
  sectorSize?: number;
}

export interface RawFakeQueryBehaviour {
  maxRangesPerCall?: number;
  maxBytesPerCall?: number;
  /** 0 ERROR_SUCCESS or 234 ERROR_MORE_DATA for a call that stopped early. */
  partialStatus?: 0 | 234;
}

export interface TrackingBinding extends NativeBinding {
  rctFakeCreate(): RawFakeVirtDisk;
  rctFakeAddDisk(fake: RawFakeVirtDisk, path: string, options: RawFakeDiskOptions): void;
  rctFakeWrite(fake: RawFakeVirtDisk, path: string, offset: number, length: number): void;
  rctFakeSeal(fake: RawFakeVirtDisk, path: string): string;
  rctFakeModifyOffline(fake: RawFakeVirtDisk, path: string): void;
  rctFakeForgetBefore(fake: RawFakeVirtDisk, path: string, id: string): void;
  rctFakeSetQueryBehaviour(fake: RawFakeVirtDisk, path: string, behaviour: RawFakeQueryBehaviour): void;
  rctFakeQueryCalls(fake: RawFakeVirtDisk, path: string): number;
  /** fake null: the system's virtdisk.dll (ERR_NOT_SUPPORTED where there is none). */
  rctOpen(fake: RawFakeVirtDisk | null, path: string, readOnly: boolean): Promise<RawRctSession>;
  rctInfo(session: RawRctSession): Promise<RawRctInfo>;
  rctSetEnabled(session: RawRctSession, enabled: boolean): Promise<void>;
  /** Pairs [offset, length] and where the next page starts (=== end when done). */
  rctQuery(session: RawRctSession, id: string, offset: number, end: number, maxRanges: number): Promise<{ ranges: Float64Array; nextOffset: number }>;
  rctClose(session: RawRctSession): void;
}

export function trackingBinding(): TrackingBinding {
  return binding() as TrackingBinding;
}
