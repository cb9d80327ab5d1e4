/**
 * The replica's kept hash manifests: the manifest of a disk's latest content, stored beside the replica's
 * storage with the position it describes and the identity of the disk's layer chain at that moment, so a
 * later comparison re-hashes only what changed since instead of the whole disk.
 *
 *   <storage root>/manifests/<disk>-<block size>[-<algorithm>].hvrman   "HVRKEPT1", u32 LE meta length, meta
 *                          (JSON), then the encoded manifest (HVRHMAN1, self-checked); one per block size and
 *                          algorithm, no algorithm in the name for SHA-256 (the files kept before others existed)
 *
 * What changed since is told by the layers (src/storage/vhdx-replica-storage.ts): cycles are written only
 * into the top layer, so every change since the manifest was taken lies in the layer that was the top then
 * ("T") or in a layer created after it; each layer's own allocation (map layerOnly) bounds what it wrote,
 * and re-hashing the union of those, rounded out to blocks, gives the manifest of the content now.
 * Retention merges a layer into its parent: the parent then holds the merged layer's writes, and takes its
 * point (its id is the merged layer's). So when T is gone, the highest layer of the kept chain still there
 * holds T's writes exactly when its point is T's or a later layer's; a point of an older kept layer means
 * T was dropped, not merged. (T dropped and a later layer then merged down would look like a merge: the
 * storage never drops a layer, only merges; an operation that drops one must delete the kept manifests.)
 * Anything else — a layer file replaced under the same name (a new base), a layer
 * appearing below the kept ones, another disk size — cannot be told apart: the caller computes in full.
 * The file is replaced atomically; a damaged or foreign one is ignored (computed in full).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { imageOf } from '../failover/disk-sync.js';
import { logger } from '../logging/logger.js';
import type { VhdxReplicaStorage } from '../storage/vhdx-replica-storage.js';
import { DEFAULT_HASH_ALGORITHM, DIGEST_SIZE, isHashAlgorithm, type HashAlgorithm } from '../tracking/hash/hash-algorithm.js';
import { hashRanges, type ByteRange } from '../tracking/hash/hash-image.js';
import { blockCountOf, decodeManifest, encodeManifest, zeroDigest, type HashManifest } from '../tracking/hash/manifest.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { readFileIfExists } from '../util/read-if-exists.js';
import { openDisk, type VhdxDisk } from '../vhdx/index.js';

const log = logger('kept-manifest');

const MAGIC = 'HVRKEPT1';
export const KEPT_MANIFEST_DIR = 'manifests';

/** One layer of the chain as a kept manifest remembers it. */
export interface LayerIdentity {
  layerId: string;
  pointId?: string;
  /** Device and inode: a file replaced under the same name (a new base) is another layer. */
  file: string;
  /** DataWriteGuid and FileWriteGuid: unchanged means nothing was written into the layer since. */
  written: string;
}

export interface KeptMeta {
  format: 1;
  diskId: string;
  blockSize: number;
  /** `generation/sequence` and reference point of the content the digests describe. */
  position: string;
  referencePoint: string;
  /** The disk's chain (base first) when the digests were brought up to date. */
  chain: LayerIdentity[];
}

export interface KeptManifest {
  meta: KeptMeta;
  manifest: HashManifest;
}

/** The content a manifest is taken of: the storage's position now. */
export interface ContentPosition {
  position: string;
  referencePoint: string;
}

/** What tells a disk's kept manifests apart. */
export interface ManifestKind {
  blockSize: number;
  algorithm: HashAlgorithm;
}

export function keptManifestPath(root: string, diskId: string, kind: ManifestKind): string {
  const suffix = kind.algorithm === DEFAULT_HASH_ALGORITHM ? '' : `-${kind.algorithm}`;
  return join(root, KEPT_MANIFEST_DIR, `${diskId}-${kind.blockSize}${suffix}.hvrman`);
}

/** Block sizes and algorithms of the manifests kept for a disk. */
export async function keptKinds(root: string, diskId: string): Promise<ManifestKind[]> {
  const names = await readdir(join(root, KEPT_MANIFEST_DIR)).catch(() => [] as string[]);
  const prefix = `${diskId}-`;
  const kinds: ManifestKind[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.hvrman')) continue;
    const [size, algorithm = DEFAULT_HASH_ALGORITHM, ...rest] = name.slice(prefix.length, -'.hvrman'.length).split('-');
    const blockSize = Number(size);
    if (rest.length === 0 && Number.isSafeInteger(blockSize) && blockSize > 0 && isHashAlgorithm(algorithm)) kinds.push({ blockSize, algorithm });
  }
  return kinds;
}

/**
 * The disk's chain as it is now. Call under the storage lock, like everything that reads the content.
 * A layer's FileWriteGuid changes at the first modification of every writable session and its
 * DataWriteGuid with its content (merges included): both unchanged means nothing was written into it.
 */
export async function chainIdentity(storage: VhdxReplicaStorage, diskId: string): Promise<LayerIdentity[]> {
  const out: LayerIdentity[] = [];
  for (const layer of storage.layerChain(diskId)) {
    const s = await stat(layer.path, { bigint: true });
    const disk = await openDisk(layer.path, { parents: false });
    const written = `${disk.info.dataWriteGuid}:${disk.info.fileWriteGuid}`;
    await disk.close();
    out.push({ layerId: layer.layerId, ...(layer.pointId ? { pointId: layer.pointId } : {}), file: `${s.dev}:${s.ino}`, written });
  }
  return out;
}

export async function loadKept(root: string, diskId: string, kind: ManifestKind): Promise<KeptManifest | undefined> {
  const { blockSize } = kind;
  const path = keptManifestPath(root, diskId, kind);
  const bytes = await readFileIfExists(path);
  if (!bytes) return undefined;
  try {
    if (bytes.length < 12 || bytes.toString('latin1', 0, 8) !== MAGIC) throw new Error('not a kept manifest (bad magic)');
    const metaEnd = 12 + bytes.readUInt32LE(8);
    const meta = JSON.parse(bytes.toString('utf8', 12, metaEnd)) as KeptMeta;
    const manifest = decodeManifest(bytes.subarray(metaEnd), path);
    if (meta.format !== 1 || meta.diskId !== diskId || meta.blockSize !== blockSize || manifest.blockSize !== blockSize || manifest.algorithm !== kind.algorithm || !Array.isArray(meta.chain)) {
      throw new Error('its description does not match its name');
    }
    return { meta, manifest };
  } catch (error) {
    log.warn('a kept hash manifest is damaged; it is computed again', { path, error: (error as Error).message });
    return undefined;
  }
}

/**
 * Stores `kept` (atomically) and returns its encoded manifest. Keeping is only a saving: when the file cannot
 * be written (a full volume) the manifest is still returned; the file left is the previous one, whole and
 * still describing the position it names, or none.
 */
export async function saveKept(root: string, kept: KeptManifest): Promise<Buffer> {
  const meta = Buffer.from(JSON.stringify(kept.meta), 'utf8');
  const head = Buffer.alloc(12);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(meta.length, 8);
  const encoded = encodeManifest(kept.manifest);
  const path = keptManifestPath(root, kept.meta.diskId, kept.manifest);
  try {
    await writeFileAtomic(path, Buffer.concat([head, meta, encoded]));
  } catch (error) {
    log.warn('could not keep a hash manifest; the next comparison hashes more', { path, error: (error as Error).message });
  }
  return encoded;
}

/**
 * Index in `now` of the lowest layer that may hold changes made since `kept` was taken (every change lies
 * in it or above), or undefined when that cannot be told (see the file comment).
 */
export function changedFrom(kept: readonly LayerIdentity[], now: readonly LayerIdentity[]): number | undefined {
  const keptIndex = new Map(kept.map((l, i) => [l.layerId, i]));
  let highest = -1;
  let highestKept = -1;
  let unknownSeen = false;
  for (const [i, layer] of now.entries()) {
    const k = keptIndex.get(layer.layerId);
    if (k === undefined) {
      // New layers are created only on top: one below a kept layer means the chain was rebuilt.
      if (highest < 0) return undefined;
      unknownSeen = true;
      continue;
    }
    if (unknownSeen || k <= highestKept || kept[k]!.file !== layer.file) return undefined;
    highest = i;
    highestKept = k;
  }
  if (highest < 0) return undefined;
  const top = kept.length - 1;
  if (highestKept === top) return highest;
  const pointId = now[highest]!.pointId;
  if (pointId === undefined) return undefined;
  const pointOf = keptIndex.get(pointId);
  return pointOf !== undefined && pointOf < top ? undefined : highest;
}

/** Runs of block indexes [first, end) that the layers at `paths` hold anything in (their own allocation). */
export async function layerBlockRuns(paths: readonly string[], blockSize: number, count: number): Promise<Array<[number, number]>> {
  const runs: Array<[number, number]> = [];
  for (const path of paths) {
    const disk = await openDisk(path, { parents: false });
    try {
      for (const extent of await disk.map({ layerOnly: true })) {
        if (extent.state === 'absent' || extent.length === 0) continue;
        runs.push([Math.floor(extent.offset / blockSize), Math.min(count, Math.ceil((extent.offset + extent.length) / blockSize))]);
      }
    } finally {
      await disk.close();
    }
  }
  return coalesce(runs);
}

function coalesce(runs: Array<[number, number]>): Array<[number, number]> {
  runs.sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [first, end] of runs) {
    const last = out.at(-1);
    if (last && first <= last[1]) last[1] = Math.max(last[1], end);
    else out.push([first, end]);
  }
  return out;
}

export interface RehashOptions {
  parallelism?: number;
  signal?: AbortSignal;
}

export interface UpdateOptions extends RehashOptions {
  /** More changed blocks than this: leave it (undefined), the caller computes in slices instead. */
  maxBlocks?: number;
  /** Store it even when nothing changed (a manifest just computed, not read from its file). */
  storeUnchanged?: boolean;
}

/**
 * Replaces the digests of the blocks in `runs` by those of `disk`'s content (the whole chain): blocks the
 * chain holds no data in get the zero digest without a read, as in hashImage.
 */
export async function rehashBlocks(disk: VhdxDisk, manifest: HashManifest, runs: ReadonlyArray<readonly [number, number]>, options: RehashOptions = {}): Promise<void> {
  const { blockSize, virtualSize, digests, algorithm } = manifest;
  const count = blockCountOf(virtualSize, blockSize);
  const fullZero = zeroDigest(algorithm, blockSize);
  const tail = virtualSize - (count - 1) * blockSize;
  const tailZero = tail === blockSize ? fullZero : zeroDigest(algorithm, tail);
  const data: Array<[number, number]> = [];
  for (const [first, end] of runs) {
    for (let b = first; b < end; b++) (b === count - 1 ? tailZero : fullZero).copy(digests, b * DIGEST_SIZE);
    const offset = first * blockSize;
    const length = Math.min(end * blockSize, virtualSize) - offset;
    for (const extent of await disk.map({ offset, length })) {
      if (extent.state !== 'data' || extent.length === 0) continue;
      data.push([Math.floor(extent.offset / blockSize), Math.min(count, Math.ceil((extent.offset + extent.length) / blockSize))]);
    }
  }
  const toRead = coalesce(data);
  if (toRead.length === 0) return;
  const ranges: ByteRange[] = toRead.map(([first, end]) => ({ offset: first * blockSize, length: Math.min(end * blockSize, virtualSize) - first * blockSize }));
  const result = await hashRanges(imageOf(disk), ranges, { blockSize, algorithm, ...(options.parallelism ? { parallelism: options.parallelism } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  let at = 0;
  for (const [first, end] of toRead) {
    result.copy(digests, first * DIGEST_SIZE, at * DIGEST_SIZE, (at + end - first) * DIGEST_SIZE);
    at += end - first;
  }
}

/** An all-zero disk's manifest: the start of a computation that fills it in slices. */
export function emptyManifest(virtualSize: number, kind: ManifestKind): HashManifest {
  return { algorithm: kind.algorithm, blockSize: kind.blockSize, virtualSize, digests: Buffer.alloc(blockCountOf(virtualSize, kind.blockSize) * DIGEST_SIZE) };
}

/** What bringing a kept manifest to the content now takes: the blocks to hash again (none: unchanged). */
export interface UpdatePlan {
  /** The chain now, to be remembered once the blocks are hashed. */
  chain: LayerIdentity[];
  runs: Array<[number, number]>;
  blocks: number;
  /** Nothing at all changed (same position, same untouched layers): nothing to store either. */
  unchanged: boolean;
}

/** Under the storage lock: which blocks changed since `kept` was taken; undefined when that cannot be told. */
export async function planUpdate(storage: VhdxReplicaStorage, kept: KeptManifest, now: ContentPosition): Promise<UpdatePlan | undefined> {
  const { diskId, blockSize } = kept.meta;
  const chain = await chainIdentity(storage, diskId);
  const disk = (await storage.status()).disks.find((d) => d.diskId === diskId);
  if (!disk || disk.virtualSize !== kept.manifest.virtualSize) return undefined;
  if (kept.meta.position === now.position && kept.meta.referencePoint === now.referencePoint && JSON.stringify(kept.meta.chain) === JSON.stringify(chain)) {
    return { chain, runs: [], blocks: 0, unchanged: true };
  }
  const from = changedFrom(kept.meta.chain, chain);
  if (from === undefined) return undefined;
  // Layers written since (or new) from there up; a kept layer nobody wrote into (the old top, now sealed) holds nothing new.
  const keptWritten = new Map(kept.meta.chain.map((l) => [l.layerId, l.written]));
  const paths = storage.layerChain(diskId).flatMap((l, i) => (i >= from && keptWritten.get(l.layerId) !== chain[i]!.written ? [l.path] : []));
  const runs = await layerBlockRuns(paths, blockSize, blockCountOf(disk.virtualSize, blockSize));
  return { chain, runs, blocks: runs.reduce((sum, [first, end]) => sum + end - first, 0), unchanged: false };
}

/** True when the disk's top layer holds nothing yet (just sealed): what changed since lies in sealed layers only. */
export async function topIsEmpty(storage: VhdxReplicaStorage, diskId: string): Promise<boolean> {
  const top = storage.layerChain(diskId).at(-1)!;
  return (await layerBlockRuns([top.path], MAX_RUN_BLOCK, 1)).length === 0;
}

/** Any block size does for telling whether a layer holds anything. */
const MAX_RUN_BLOCK = 64 * 1024 * 1024;

/**
 * Brings `kept` to the storage's content now (under the storage lock) and stores it; returns the encoded
 * manifest, or undefined when what changed since cannot be told (compute in full) or is more than
 * options.maxBlocks. `kept` is changed in place.
 */
export async function bringUpToDate(storage: VhdxReplicaStorage, kept: KeptManifest, now: ContentPosition, options: UpdateOptions = {}): Promise<Buffer | undefined> {
  const plan = await planUpdate(storage, kept, now);
  if (!plan || (options.maxBlocks !== undefined && plan.blocks > options.maxBlocks)) return undefined;
  if (plan.unchanged && !options.storeUnchanged) return encodeManifest(kept.manifest);
  if (plan.runs.length > 0) {
    const latest = await storage.openLatest(kept.meta.diskId);
    try {
      await rehashBlocks(latest, kept.manifest, plan.runs, { ...(options.parallelism ? { parallelism: options.parallelism } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    } finally {
      await latest.close();
    }
  }
  kept.meta = { ...kept.meta, position: now.position, referencePoint: now.referencePoint, chain: plan.chain };
  log.verbose('kept hash manifest brought up to date', { vmId: storage.vmId, diskId: kept.meta.diskId, blockSize: kept.meta.blockSize, position: now.position, changedBlocks: plan.blocks });
  return saveKept(storage.root, kept);
}
