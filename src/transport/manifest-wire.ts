/**
 * The replica-content routes as data (docs/replication-protocol.md "Comparing by hash"): what the replica
 * holds of a VM, the hash manifest of one disk's latest applied content, and seeding a new replica from a
 * copy the administrator put on the replica host. Server and client both parse and build them from here.
 *
 *   GET  /v1/vms/<vmId>/content                                  position, reference point, disks (JSON)
 *   GET  /v1/vms/<vmId>/disks/<diskId>/manifest?block-size=<n>[&algorithm=<a>]   HVRHMAN1 manifest of the latest content
 *   POST /v1/vms/<vmId>/disks/<diskId>/digests?block-size=<n>[&algorithm=<a>]    digests of the blocks of the ranges sent
 *                                                                (the fine pass of a two-level comparison)
 *   (no algorithm: SHA-256, as servers before protocol 3 compute; wire.ts HelloResponse.HashAlgorithms)
 *   PUT  /v1/vms/<vmId>/backup                                   VM definition: seed the replica from the copy
 */
import { isGuid } from '../protocol/index.js';
import { DIGEST_SIZE, type HashAlgorithm } from '../tracking/hash/hash-algorithm.js';
import type { HelloResponse } from './wire.js';
import type { ByteRange } from '../tracking/index.js';
import { blockCountOf, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE } from '../tracking/hash/manifest.js';

export type { BackupSeedResult, ContentDisk, ReplicaContentStatus } from '../replica/replica-content.js';

/**
 * Largest manifest one answer carries: 2 Mi digests (64 MiB). With 64 MiB blocks that covers 128 TiB,
 * twice the VHDX maximum, so every disk has a block size that fits; smaller block sizes are refused.
 */
export const MAX_MANIFEST_BLOCKS = 2 * 1024 * 1024;
/**
 * Ranges one digests request may name (a coarse manifest's differing blocks, coalesced): what the primary
 * sends at most (hash-sync.ts), so that a request body the server buffers stays at 4 MiB.
 */
export const MAX_DIGEST_RANGES = 256 * 1024;

/** Bytes one encoded manifest of `blocks` digests takes (header, digests, trailer). */
export function manifestBytes(blocks: number): number {
  return 40 + blocks * DIGEST_SIZE + 32;
}

/** Header of a manifest answer: the replica position (`generation/sequence`) the manifest describes. */
export const HEADER_POSITION = 'hvr-position';
/** Header of a manifest answer: the primary's reference point the replica is at. */
export const HEADER_REFERENCE_POINT = 'hvr-reference-point';
export const MANIFEST_CONTENT_TYPE = 'application/vnd.hvreplica.manifest';
/** Encoded size bound of a manifest answer (header, digests, trailer). */
export const MAX_MANIFEST_BYTES = manifestBytes(MAX_MANIFEST_BLOCKS);

/** Encoded size bounds of a digests request (16 bytes a range) and answer (32 bytes a block). */
export const MAX_DIGEST_REQUEST_BYTES = MAX_DIGEST_RANGES * 16;
export const MAX_DIGEST_ANSWER_BYTES = MAX_MANIFEST_BLOCKS * DIGEST_SIZE;
export const DIGESTS_CONTENT_TYPE = 'application/vnd.hvreplica.digests';

export type ContentRoute =
  | { kind: 'content'; vmId: string }
  | { kind: 'manifest'; vmId: string; diskId: string; blockSize: number | undefined; algorithm: string }
  | { kind: 'digests'; vmId: string; diskId: string; blockSize: number; algorithm: string }
  | { kind: 'backup'; vmId: string };

const CONTENT_PATH = /^\/v1\/vms\/([0-9a-f-]{36})\/content$/;
const BACKUP_PATH = /^\/v1\/vms\/([0-9a-f-]{36})\/backup$/;
const MANIFEST_PATH = /^\/v1\/vms\/([0-9a-f-]{36})\/disks\/([0-9a-f-]{36})\/manifest(?:\?block-size=(\d{1,10})(?:&algorithm=([a-z0-9]{1,16}))?)?$/;
const DIGESTS_PATH = /^\/v1\/vms\/([0-9a-f-]{36})\/disks\/([0-9a-f-]{36})\/digests\?block-size=(\d{1,10})(?:&algorithm=([a-z0-9]{1,16}))?$/;

/** The algorithm a request without `&algorithm=` means: what every server before protocol 3 computes. */
const WIRE_DEFAULT_ALGORITHM: HashAlgorithm = 'sha256';

/** `&algorithm=` only when not the default, so a SHA-256 request is the one older servers know. */
function algorithmQuery(algorithm: HashAlgorithm): string {
  return algorithm === WIRE_DEFAULT_ALGORITHM ? '' : `&algorithm=${algorithm}`;
}

export function contentPath(vmId: string): string {
  return `/v1/vms/${vmId}/content`;
}

export function backupPath(vmId: string): string {
  return `/v1/vms/${vmId}/backup`;
}

export function manifestPath(vmId: string, diskId: string, blockSize: number, algorithm: HashAlgorithm = WIRE_DEFAULT_ALGORITHM): string {
  return `/v1/vms/${vmId}/disks/${diskId}/manifest?block-size=${blockSize}${algorithmQuery(algorithm)}`;
}

export function digestsPath(vmId: string, diskId: string, blockSize: number, algorithm: HashAlgorithm = WIRE_DEFAULT_ALGORITHM): string {
  return `/v1/vms/${vmId}/disks/${diskId}/digests?block-size=${blockSize}${algorithmQuery(algorithm)}`;
}

/**
 * The algorithm a comparison uses with a server that answered `hello`: the first of `preferred` (best first)
 * that the server lists and this side computes too, else SHA-256 (a server before protocol 3 lists nothing;
 * one before protocol 5 lists BLAKE3 but not XXH3-128).
 */
export function agreedAlgorithm(hello: Pick<HelloResponse, 'HashAlgorithms'>, preferred: readonly HashAlgorithm[], usableHere: readonly HashAlgorithm[]): HashAlgorithm {
  const theirs = hello.HashAlgorithms ?? [WIRE_DEFAULT_ALGORITHM];
  return preferred.find((algorithm) => theirs.includes(algorithm) && usableHere.includes(algorithm)) ?? WIRE_DEFAULT_ALGORITHM;
}

/** The body of a digests request: each range as u64 offset, u64 length (little-endian). */
export function encodeRanges(ranges: readonly ByteRange[]): Buffer {
  const body = Buffer.alloc(ranges.length * 16);
  ranges.forEach((r, i) => {
    body.writeBigUInt64LE(BigInt(r.offset), i * 16);
    body.writeBigUInt64LE(BigInt(r.length), i * 16 + 8);
  });
  return body;
}

/** Ranges from a digests request body; the replica checks them against the disk (hashRanges). */
export function decodeRanges(body: Buffer): ByteRange[] {
  if (body.length % 16 !== 0) throw new RangeError(`a digests request is a list of 16-byte ranges; ${body.length} bytes is not`);
  const ranges: ByteRange[] = [];
  for (let at = 0; at < body.length; at += 16) {
    const offset = body.readBigUInt64LE(at);
    const length = body.readBigUInt64LE(at + 8);
    if (offset > BigInt(Number.MAX_SAFE_INTEGER) || length > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`range ${at / 16} is beyond any disk`);
    ranges.push({ offset: Number(offset), length: Number(length) });
  }
  return ranges;
}

/**
 * Parses a content route; undefined for anything else, so the server falls through to its other routes.
 * Only exact GUIDs and a decimal block size get through: nothing else from the path reaches the replica.
 */
export function parseContentPath(path: string): ContentRoute | undefined {
  let match = CONTENT_PATH.exec(path);
  if (match) return isGuid(match[1]!) ? { kind: 'content', vmId: match[1]! } : undefined;
  match = BACKUP_PATH.exec(path);
  if (match) return isGuid(match[1]!) ? { kind: 'backup', vmId: match[1]! } : undefined;
  match = DIGESTS_PATH.exec(path);
  if (match) return isGuid(match[1]!) && isGuid(match[2]!) ? { kind: 'digests', vmId: match[1]!, diskId: match[2]!, blockSize: Number(match[3]), algorithm: match[4] ?? WIRE_DEFAULT_ALGORITHM } : undefined;
  match = MANIFEST_PATH.exec(path);
  if (!match || !isGuid(match[1]!) || !isGuid(match[2]!)) return undefined;
  return { kind: 'manifest', vmId: match[1]!, diskId: match[2]!, blockSize: match[3] === undefined ? undefined : Number(match[3]), algorithm: match[4] ?? WIRE_DEFAULT_ALGORITHM };
}

/**
 * The smallest power-of-two block size from `preferred` up whose manifest of `virtualSize` has at most
 * `maxBlocks` digests (default: what one answer carries; a caller may ask for fewer to bound its memory).
 */
export function manifestBlockSize(virtualSize: number, preferred: number, maxBlocks = MAX_MANIFEST_BLOCKS): number {
  const limit = Math.min(maxBlocks, MAX_MANIFEST_BLOCKS);
  let size = Math.max(MIN_BLOCK_SIZE, preferred);
  while (size < MAX_BLOCK_SIZE && blockCountOf(virtualSize, size) > limit) size *= 2;
  return size;
}
