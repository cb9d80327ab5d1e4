/**
 * The VHDX engine's public TypeScript API. Everything here runs its I/O on the libuv thread pool in the
 * native addon (native/src/vhdx), so no call blocks the main thread.
 *
 * Offsets and lengths are virtual-disk byte offsets (JS numbers; VHDX is limited to 64 TiB, well inside
 * Number.MAX_SAFE_INTEGER). Failures are NativeError with stable codes:
 *   ERR_VHDX_CORRUPT            the file breaks the MS-VHDX rules (bad checksum, truncated, overlapping regions…)
 *   ERR_VHDX_UNSUPPORTED        valid VHDX that uses something this engine refuses (unknown required region/item)
 *   ERR_VHDX_PARENT_NOT_FOUND   a differencing disk's parent cannot be found by any locator path
 *   ERR_VHDX_PARENT_MISMATCH    the parent found does not carry the linkage GUID the child expects
 *   ERR_VHDX_PARENT_LOOP        the parent chain refers back to itself
 *   ERR_VHDX_READ_ONLY          a write on a disk opened without `writable`
 *   ERR_VHDX_CLOSED             a call on a closed disk
 *   ERR_INVALID_ARGUMENT        out-of-range or misaligned offsets, bad create options
 * plus the generic I/O codes (ERR_NOT_FOUND, ERR_ACCESS_DENIED, ERR_DISK_FULL, ERR_IO).
 */
import { resolve } from 'node:path';
import { isNativeBlockHash, NATIVE_BLOCK_HASHES, type NativeBlockHash, type RangeDigests } from '../native/block-hash.js';
import { NativeError } from '../native/native-error.js';
import { vhdxBinding, type RawVhdxHandle, type RawVhdxInfo } from './binding-types.js';

export type VhdxDiskType = 'fixed' | 'dynamic' | 'differencing';

/** The parent locator of a differencing disk, keys as stored in the file (MS-VHDX 2.6.2.6). */
export interface VhdxParentLocator {
  /** The parent's DataWriteGuid as the child expects it, lowercase with braces: `{…}`. */
  parentLinkage: string;
  /** An alternative accepted linkage (used during merges); undefined when absent or all zeros. */
  parentLinkage2?: string;
  relativePath?: string;
  volumePath?: string;
  absoluteWin32Path?: string;
  /** Every key/value pair as stored, including unknown keys. */
  entries: Record<string, string>;
}

export interface VhdxInfo {
  /** The path this layer was opened with. */
  path: string;
  type: VhdxDiskType;
  virtualSize: number;
  blockSize: number;
  logicalSectorSize: 512 | 4096;
  physicalSectorSize: 512 | 4096;
  /** Virtual Disk ID (page 83), `{…}` lowercase; shared by every layer of a chain. */
  diskId: string;
  /** Changes whenever user-visible content changes; children link to their parent by it. */
  dataWriteGuid: string;
  /** Changes at the first modification of every writable session. */
  fileWriteGuid: string;
  /** The creator string of the file identifier (informational). */
  creator: string;
  /** Size of this layer's file in bytes. */
  fileSize: number;
  /** True when an active log was found and replayed at open (in memory for a read-only open). */
  logReplayed: boolean;
  /** Differencing only: the resolved path of the parent, and the locator it was resolved from. */
  parentPath?: string;
  parentLocator?: VhdxParentLocator;
  /** Every layer's path, this one first and the base last. */
  chain: string[];
}

export type ExtentState = 'data' | 'zero' | 'absent';

/**
 * A run of the virtual disk. With layerOnly:
 *   data   sectors stored in this layer (sector-bitmap precision in a differencing layer)
 *   zero   this layer explicitly reads zero there (ZERO/UNMAPPED/UNDEFINED blocks) — in a differencing
 *          layer that hides the parent, so it is a change too
 *   absent nothing in this layer (a differencing layer shows its parent there; otherwise reads zero)
 * For the whole chain: data where some layer provides bytes, zero where the topmost deciding layer says
 * zero, absent where no layer has anything (reads zero).
 * Extents are sorted, adjacent extents always differ in state, and together they cover the range asked.
 */
export interface Extent {
  offset: number;
  length: number;
  state: ExtentState;
}

export interface OpenOptions {
  /** Open for writing: replays an active log in place, and the session uses the write-ahead log. */
  writable?: boolean;
  /**
   * Default true. False opens only this file, to inspect a layer whose parents are not at hand: info and
   * map work, reads of sectors that live in a parent fail with ERR_VHDX_PARENT_NOT_FOUND.
   */
  parents?: boolean;
  /**
   * Default false. With `writable`, the aligned middle of each large write (64 KiB or more) bypasses the page
   * cache (Linux O_DIRECT, Windows FILE_FLAG_NO_BUFFERING) from native bounce buffers, several writes at once;
   * the rest, metadata and reads go through the cache as usual, and flush() still makes everything durable.
   * For a disk written once from front to back on a disk slower than the network (a replica's staged full
   * copy): the kernel copies each byte once less and leaves no dirty pages for the final flush. Buffered where
   * the file system takes no unbuffered writes (tmpfs; see writesUnbuffered()).
   */
  unbufferedWrites?: boolean;
}

export interface MapOptions {
  /** Only this layer (see Extent); default false = the whole chain. */
  layerOnly?: boolean;
  /** Restrict the map to [offset, offset+length); default the whole disk. */
  offset?: number;
  length?: number;
}

export interface CreateOptions {
  type: VhdxDiskType;
  /** Bytes, a multiple of logicalSectorSize. Ignored (taken from the parent) for differencing. */
  virtualSize?: number;
  /** Power of two, 1–256 MiB. Default 32 MiB for dynamic, 2 MiB for fixed and differencing (as Hyper-V). */
  blockSize?: number;
  /** 512 (default) or 4096. Differencing disks take the parent's. */
  logicalSectorSize?: 512 | 4096;
  /** 512 or 4096 (default). Differencing disks take the parent's. */
  physicalSectorSize?: 512 | 4096;
  /** Differencing only: the parent file; stored as relative and absolute locator paths. */
  parentPath?: string;
}

export interface CheckReport {
  path: string;
  ok: boolean;
  errors: string[];
  warnings: string[];
  allocatedBlocks: number;
  sectorBitmapBlocks: number;
}

/**
 * One change of `VhdxDisk.apply`: bytes written (in one buffer or several back to back), bytes copied from the
 * source file given to apply (`length` of them from its `sourceOffset`), or a range zeroed or trimmed.
 */
export type DiskChange =
  | { type: 'data'; offset: number; pieces: readonly Uint8Array[] }
  | { type: 'copy'; offset: number; length: number; sourceOffset: number }
  | { type: 'zero' | 'trim'; offset: number; length: number };

/** An open VHDX file together with every ancestor of its differencing chain. Not reentrant-safe to close twice. */
export interface VhdxDisk {
  readonly info: VhdxInfo;
  readonly writable: boolean;
  /** Whether large writes bypass the page cache now (opened with `unbufferedWrites` where the file system allows). */
  writesUnbuffered(): boolean;
  /** Reads through the whole chain. With a number, returns a new Buffer of that length. */
  read(offset: number, lengthOrBuffer: number | Buffer): Promise<Buffer>;
  /**
   * Reads several ranges into `into`, back to back (their lengths add up to its length), in one request to the
   * pool; with `digests`, also the digest of each range by their algorithm (a 32-byte slot each, in order).
   */
  readRanges(ranges: readonly { offset: number; length: number }[], into: Buffer, digests?: RangeDigests): Promise<void>;
  /**
   * The digest (BLAKE3 or XXH3-128, 32-byte slots) of every `blockSize` block of the range (the last may be
   * short), read through the whole chain and hashed on the libuv pool while still in the CPU cache: no window in memory.
   */
  hashBlocks(algorithm: NativeBlockHash, offset: number, length: number, blockSize: number): Promise<Buffer>;
  /**
   * Writes into this (top) layer; any offset and length (partial sectors are merged with what the chain
   * shows). Durable only after flush() or close(): a crash before that may lose the write, never the file.
   * `data` may be several buffers written back to back (gathered natively, off the JS thread).
   */
  write(offset: number, data: Uint8Array | readonly Uint8Array[]): Promise<void>;
  /**
   * Writes, zeroes and trims in this order, as write(), zero() and trim() would one after another, in one call
   * on the libuv pool: many small changes cost one hand-off to the pool instead of one each. A change outside
   * the disk refuses the whole list before anything is made; a failure while writing may leave the changes before
   * the failing one made and the rest not. A 'copy' writes bytes of the file at `source` (required then) as a
   * write of them would, file to file: on Linux they never enter this process (copy_file_range), elsewhere or
   * across file systems they pass through a native buffer. Nothing checks them: the caller vouches for the file.
   */
  apply(changes: readonly DiskChange[], source?: string): Promise<void>;
  /** Makes the range read as zeros (in a differencing layer: hides the parent); whole blocks become ZERO blocks. */
  zero(offset: number, length: number): Promise<void>;
  /** Like zero, and whole blocks also give their file space back (hole punched after the metadata commit). */
  trim(offset: number, length: number): Promise<void>;
  /** Commits metadata through the log and makes every completed write durable. */
  flush(): Promise<void>;
  map(options?: MapOptions): Promise<Extent[]>;
  /** Flushes (when writable), marks the log clean and closes every layer. */
  close(): Promise<void>;
}

const STATES: readonly ExtentState[] = ['absent', 'zero', 'data'];
/** The kinds of vhdxApplyChanges (native/src/binding/vhdx_binding.cc). */
const CHANGE_KINDS: Record<DiskChange['type'], number> = { data: 0, zero: 1, trim: 2, copy: 3 };

function checkRange(what: string, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new NativeError(`${what}: offset and length must be non-negative integers (got ${offset}, ${length})`, {
      code: 'ERR_INVALID_ARGUMENT',
    });
  }
}

function toInfo(raw: RawVhdxInfo): VhdxInfo {
  const info: VhdxInfo = {
    path: raw.path,
    type: raw.type,
    virtualSize: raw.virtualSize,
    blockSize: raw.blockSize,
    logicalSectorSize: raw.logicalSectorSize as 512 | 4096,
    physicalSectorSize: raw.physicalSectorSize as 512 | 4096,
    diskId: raw.diskId,
    dataWriteGuid: raw.dataWriteGuid,
    fileWriteGuid: raw.fileWriteGuid,
    creator: raw.creator,
    fileSize: raw.fileSize,
    logReplayed: raw.logReplayed,
    chain: raw.chain,
  };
  if (raw.parentPath !== null) info.parentPath = raw.parentPath;
  if (raw.parentLocator !== null) {
    const e = raw.parentLocator.entries;
    const loc: VhdxParentLocator = { parentLinkage: e.parent_linkage ?? '', entries: e };
    const zero = '{00000000-0000-0000-0000-000000000000}';
    if (e.parent_linkage2 !== undefined && e.parent_linkage2 !== zero) loc.parentLinkage2 = e.parent_linkage2;
    if (e.relative_path !== undefined) loc.relativePath = e.relative_path;
    if (e.volume_path !== undefined) loc.volumePath = e.volume_path;
    if (e.absolute_win32_path !== undefined) loc.absoluteWin32Path = e.absolute_win32_path;
    info.parentLocator = loc;
  }
  return info;
}

class OpenDisk implements VhdxDisk {
  constructor(
    private readonly handle: RawVhdxHandle,
    readonly info: VhdxInfo,
    readonly writable: boolean,
  ) {}

  writesUnbuffered(): boolean {
    return vhdxBinding().vhdxWritesUnbuffered(this.handle);
  }

  async read(offset: number, lengthOrBuffer: number | Buffer): Promise<Buffer> {
    const buffer = typeof lengthOrBuffer === 'number' ? Buffer.allocUnsafe(lengthOrBuffer) : lengthOrBuffer;
    checkRange('read', offset, buffer.length);
    await vhdxBinding().vhdxRead(this.handle, offset, buffer);
    return buffer;
  }

  async readRanges(ranges: readonly { offset: number; length: number }[], into: Buffer, digests?: RangeDigests): Promise<void> {
    const flat = new Float64Array(ranges.length * 2);
    let total = 0;
    ranges.forEach((range, i) => {
      checkRange('read', range.offset, range.length);
      flat[2 * i] = range.offset;
      flat[2 * i + 1] = range.length;
      total += range.length;
    });
    if (total !== into.length) throw new RangeError(`read: the ranges add up to ${total} bytes, the buffer holds ${into.length}`);
    if (digests !== undefined && digests.slots.length !== ranges.length * 32) throw new RangeError(`read: ${ranges.length} digests need ${ranges.length * 32} bytes, not ${digests.slots.length}`);
    if (digests !== undefined && !isNativeBlockHash(digests.algorithm)) throw new RangeError(`read: '${String(digests.algorithm)}' is not a hash the engine computes (${NATIVE_BLOCK_HASHES.join(', ')})`);
    await vhdxBinding().vhdxReadRanges(this.handle, flat, into, digests?.slots, digests?.algorithm);
  }

  async hashBlocks(algorithm: NativeBlockHash, offset: number, length: number, blockSize: number): Promise<Buffer> {
    checkRange('hash', offset, length);
    if (!Number.isSafeInteger(blockSize) || blockSize <= 0 || offset % blockSize !== 0) throw new RangeError(`hash: block size ${blockSize} must be positive and divide the offset ${offset}`);
    if (!isNativeBlockHash(algorithm)) throw new RangeError(`hash: '${String(algorithm)}' is not a block hash the engine computes (${NATIVE_BLOCK_HASHES.join(', ')})`);
    return vhdxBinding().vhdxHashBlocks(this.handle, algorithm, offset, length, blockSize);
  }

  async write(offset: number, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    checkRange('write', offset, data instanceof Uint8Array ? data.length : data.reduce((sum, piece) => sum + piece.length, 0));
    await vhdxBinding().vhdxWrite(this.handle, offset, data);
  }

  async apply(changes: readonly DiskChange[], source?: string): Promise<void> {
    const flat = new Float64Array(changes.length * 3);
    const payloads: Array<readonly Uint8Array[]> = [];
    const sourceOffsets: number[] = [];
    changes.forEach((change, i) => {
      const length = change.type === 'data' ? change.pieces.reduce((sum, piece) => sum + piece.length, 0) : change.length;
      checkRange(change.type === 'data' || change.type === 'copy' ? 'write' : change.type, change.offset, length);
      flat[i * 3] = CHANGE_KINDS[change.type];
      flat[i * 3 + 1] = change.offset;
      flat[i * 3 + 2] = length;
      if (change.type === 'data') payloads.push(change.pieces);
      if (change.type === 'copy') {
        checkRange('copy source', change.sourceOffset, length);
        sourceOffsets.push(change.sourceOffset);
      }
    });
    if (sourceOffsets.length === 0) return vhdxBinding().vhdxApplyChanges(this.handle, flat, payloads);
    if (source === undefined) throw new NativeError('apply: a copy needs the source file', { code: 'ERR_INVALID_ARGUMENT' });
    await vhdxBinding().vhdxApplyChanges(this.handle, flat, payloads, resolve(source), Float64Array.from(sourceOffsets));
  }

  async zero(offset: number, length: number): Promise<void> {
    checkRange('zero', offset, length);
    await vhdxBinding().vhdxZero(this.handle, offset, length, 0);
  }

  async trim(offset: number, length: number): Promise<void> {
    checkRange('trim', offset, length);
    await vhdxBinding().vhdxZero(this.handle, offset, length, 1);
  }

  async flush(): Promise<void> {
    await vhdxBinding().vhdxFlush(this.handle);
  }

  async map(options: MapOptions = {}): Promise<Extent[]> {
    const offset = options.offset ?? 0;
    const length = options.length ?? Math.max(0, this.info.virtualSize - offset);
    checkRange('map', offset, length);
    const flat = await vhdxBinding().vhdxMap(this.handle, options.layerOnly ?? false, offset, length);
    const out: Extent[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      out.push({ offset: flat[i]!, length: flat[i + 1]!, state: STATES[flat[i + 2]!]! });
    }
    return out;
  }

  async close(): Promise<void> {
    await vhdxBinding().vhdxClose(this.handle);
  }
}

/** Opens a VHDX/AVHDX file and, for a differencing disk, its whole parent chain (read-only). */
export async function openDisk(path: string, options: OpenOptions = {}): Promise<VhdxDisk> {
  const writable = options.writable ?? false;
  // Absolute paths make parent locators and chain paths unambiguous whatever the cwd.
  const unbuffered = writable && (options.unbufferedWrites ?? false);
  const handle = await vhdxBinding().vhdxOpen(resolve(path), writable, options.parents ?? true, unbuffered);
  return new OpenDisk(handle, toInfo(vhdxBinding().vhdxInfo(handle)), writable);
}

/** Creates a new VHDX file; fails with ERR_ALREADY_EXISTS if `path` exists. */
export async function createDisk(path: string, options: CreateOptions): Promise<void> {
  const type = options.type;
  const raw = {
    type,
    virtualSize: options.virtualSize ?? 0,
    blockSize: options.blockSize ?? (type === 'dynamic' ? 32 * 1024 * 1024 : 2 * 1024 * 1024),
    logicalSectorSize: options.logicalSectorSize ?? 512,
    physicalSectorSize: options.physicalSectorSize ?? 4096,
    parentPath: options.parentPath ? resolve(options.parentPath) : '',
  };
  if (type === 'differencing' && raw.parentPath === '') {
    throw new NativeError('createDisk: a differencing disk needs parentPath', { code: 'ERR_INVALID_ARGUMENT' });
  }
  if (type !== 'differencing' && (!Number.isSafeInteger(raw.virtualSize) || raw.virtualSize <= 0)) {
    throw new NativeError('createDisk: virtualSize must be a positive integer number of bytes', { code: 'ERR_INVALID_ARGUMENT' });
  }
  await vhdxBinding().vhdxCreate(resolve(path), raw);
}

/**
 * Merges the differencing layer `childPath` into its parent, crash-safe and resumable: running it again
 * after a crash finishes the merge. The child file is left in place (the caller deletes or re-parents).
 * The parent's DataWriteGuid changes, so other children of that parent become invalid (as in Hyper-V).
 */
export async function mergeDisk(childPath: string): Promise<void> {
  await vhdxBinding().vhdxMerge(resolve(childPath));
}

/**
 * Points the differencing disk `childPath` at `newParentPath`, a file that shows the same content as its
 * current parent: typically, after `mergeDisk(parent)`, the file the parent was merged into, so the merged
 * file can be deleted (what Hyper-V does when it removes a checkpoint). Runs off the main thread.
 *
 * The new parent is accepted when its DataWriteGuid is the child's parent_linkage (the same content), or
 * when both chains read identically wherever the layers above their common base hold anything (only
 * those ranges are read). Otherwise it fails with ERR_VHDX_PARENT_MISMATCH and changes nothing;
 * ERR_VHDX_PARENT_LOOP when the new chain contains the child. The locator (parent_linkage, relative
 * and absolute path) changes in one VHDX log entry, so a crash leaves the old or the new parent, both
 * valid; the child's DataWriteGuid stays, so layers above it stay linked. Idempotent.
 * Keep writers off both chains meanwhile.
 */
export async function reparentDisk(childPath: string, newParentPath: string): Promise<void> {
  await vhdxBinding().vhdxReparent(resolve(childPath), resolve(newParentPath));
}

/** Structural check of one file (no parent needed): headers, regions, metadata, BAT entries, log. */
export async function checkDisk(path: string): Promise<CheckReport> {
  const raw = await vhdxBinding().vhdxCheck(resolve(path));
  return { path, ok: raw.errors.length === 0, ...raw };
}
