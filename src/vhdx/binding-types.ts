/**
 * The raw JS_ surface of native/src/binding/vhdx_binding.cc. Only src/vhdx uses it; callers go through
 * the typed wrapper in index.ts, which validates arguments first.
 */
import { binding, type NativeBinding } from '../native/binding.js';
import type { NativeBlockHash } from '../native/block-hash.js';

/** Opaque token for an open disk chain; the addon owns what is behind it. */
export interface RawVhdxHandle {
  readonly __vhdxHandle: unique symbol;
}

export interface RawParentLocator {
  type: string;
  entries: Record<string, string>;
}

export interface RawVhdxInfo {
  path: string;
  type: 'fixed' | 'dynamic' | 'differencing';
  virtualSize: number;
  blockSize: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  diskId: string;
  dataWriteGuid: string;
  fileWriteGuid: string;
  creator: string;
  fileSize: number;
  logReplayed: boolean;
  parentLocator: RawParentLocator | null;
  parentPath: string | null;
  chain: string[];
}

export interface RawCreateOptions {
  type: 'fixed' | 'dynamic' | 'differencing';
  virtualSize: number;
  blockSize: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  parentPath: string;
}

export interface RawCheckReport {
  errors: string[];
  warnings: string[];
  allocatedBlocks: number;
  sectorBitmapBlocks: number;
}

export interface VhdxBinding extends NativeBinding {
  vhdxOpen(path: string, writable: boolean, withParents: boolean, unbufferedWrites: boolean): Promise<RawVhdxHandle>;
  vhdxInfo(handle: RawVhdxHandle): RawVhdxInfo;
  vhdxWritesUnbuffered(handle: RawVhdxHandle): boolean;
  /** Fills `buffer` from virtual offset `offset`; resolves with the byte count (always buffer.length). */
  vhdxRead(handle: RawVhdxHandle, offset: number, buffer: Uint8Array): Promise<number>;
  /**
   * Fills `buffer` with the ranges of `ranges` (flat pairs [offset, length, ...], lengths adding up to the buffer's)
   * back to back, in one job; with `digests` (32 bytes per range), the digest of each range by `algorithm` in the same job.
   */
  vhdxReadRanges(handle: RawVhdxHandle, ranges: Float64Array, buffer: Uint8Array, digests?: Uint8Array, algorithm?: NativeBlockHash): Promise<void>;
  /** Writes `data` (one buffer, or several back to back) at virtual offset `offset`. */
  vhdxWrite(handle: RawVhdxHandle, offset: number, data: Uint8Array | readonly Uint8Array[]): Promise<void>;
  /** Digests (32-byte slots) of every blockSize block of [offset, offset + length), read and hashed in one job. */
  vhdxHashBlocks(handle: RawVhdxHandle, algorithm: NativeBlockHash, offset: number, length: number, blockSize: number): Promise<Buffer>;
  /**
   * Applies triples [kind, offset, length] in order in one job (kind 0 write, 1 zero, 2 trim, 3 copy); `payloads` holds
   * each write's bytes in order, one buffer or several back to back; each copy takes `length` bytes of the file
   * `source` from the next of `sourceOffsets`.
   */
  vhdxApplyChanges(
    handle: RawVhdxHandle,
    changes: Float64Array,
    payloads: ReadonlyArray<Uint8Array | readonly Uint8Array[]>,
    source?: string,
    sourceOffsets?: Float64Array,
  ): Promise<void>;
  /** mode 0: zero (reads zero afterwards), 1: trim (space may be released; reads zero). */
  vhdxZero(handle: RawVhdxHandle, offset: number, length: number, mode: 0 | 1): Promise<void>;
  vhdxFlush(handle: RawVhdxHandle): Promise<void>;
  vhdxClose(handle: RawVhdxHandle): Promise<void>;
  /** Flat triples [offset, length, state] with state 0 absent, 1 zero, 2 data. */
  vhdxMap(handle: RawVhdxHandle, layerOnly: boolean, offset: number, length: number): Promise<Float64Array>;
  vhdxCreate(path: string, options: RawCreateOptions): Promise<void>;
  vhdxMerge(childPath: string): Promise<void>;
  vhdxReparent(childPath: string, newParentPath: string): Promise<void>;
  vhdxCheck(path: string): Promise<RawCheckReport>;
}

export function vhdxBinding(): VhdxBinding {
  return binding() as VhdxBinding;
}
