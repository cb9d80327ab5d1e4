/**
 * Checks a staged disk against the log it was staged from, right before the replica applies what it holds.
 *
 * A staged full copy (staged-disk.ts) was written record by record as each record's checksum was verified,
 * but the replica reads it back later: taking it as the base (a rename, no read at all) or applying a hollow
 * log whose payloads live only in it (hollow-log.ts). In between it rested on this host's storage, maybe
 * across a server restart, where bit rot or a torn write would otherwise reach the replica's disks unseen.
 * So before either, every data record of the log is checked against the bytes the disk holds at its place
 * (except where the process that staged and stored it applies it, neither file changed: verified-logs.ts):
 * the digest of the range (hashed by the addon on the pool in the job that reads it) against the record
 * checksum of the log's framing, which the whole-log hash guards. This covers compressed records too, whose
 * decompressed bytes exist only in the disk. Only the log's framing is read (a hollow log holds little
 * else; its holes are passed over unread), and the disk once: from the medium when it was staged past the page
 * cache (staged-disk.ts, where the file system allows), else from the page cache when the copy is recent.
 *
 * Not checked, and said so: zero and trim records (a staged disk starts empty; their ranges hold no data to
 * check), and a data record that a later record of the same log overlaps (the disk rightly shows the later
 * bytes there; an agent's full copy writes each extent once, so its logs have none).
 */
import { createHash } from 'node:crypto';
import { FileChunks } from '../protocol/file-chunks.js';
import { decodeLog, type RecordLayout } from '../protocol/log-decoder.js';
import { encodeRecordPrefix, MAX_RECORD_BYTES, RecordType, type LogHeader } from '../protocol/log-format.js';
import { isNestedRecordHash, recordChecksumOfPayloadDigest, type RecordHashAlgorithm } from '../protocol/record-hash.js';
import { openDisk, type VhdxDisk } from '../vhdx/index.js';

/** Where a staged disk differs from its log. */
export interface StagedMismatch {
  /** The data record whose bytes the disk no longer holds. */
  offset: number;
  length: number;
}

/** Reads in flight at once: each is one job on the pool, and the pool has several threads. */
const IN_FLIGHT = 4;
/**
 * Bytes one read fetches and hashes: consecutive records share a read up to this (a delta's small records
 * cost one pool round trip per batch, not one each); a record is never split, and none is larger.
 */
const BATCH_BYTES = MAX_RECORD_BYTES;
/** Read size for the log's framing: its holes and compressed payloads are passed over unread (FileChunks). */
export const FRAMING_READ_BYTES = 64 * 1024;

/**
 * Checks the disk at `diskPath` against the verified log at `logPath` (a log staged into it). Resolves with a
 * record whose bytes differ, or undefined when every checked record matches. A log that fails its own checks
 * (framing, whole-log hash, counts) rejects with the decoder's error.
 */
export async function checkStagedDisk(logPath: string, diskPath: string): Promise<StagedMismatch | undefined> {
  const disk = await openDisk(diskPath);
  try {
    const inOrder = await checkInLogOrder(logPath, disk);
    return inOrder.ordered ? inOrder.mismatch : await checkCollected(logPath, disk);
  } finally {
    await disk.close().catch(() => undefined);
  }
}

/**
 * Checks the records while the framing is read, as long as each starts where the one before it ended or
 * later (a full copy's do): no record can then overlap an earlier one, and memory stays at a few batches
 * however long the log (a 1 TiB copy has a million records). `ordered: false` once one does not (a delta's);
 * checking stops there and the caller starts over with the whole list (checkCollected).
 */
async function checkInLogOrder(logPath: string, disk: VhdxDisk): Promise<{ ordered: boolean; mismatch?: StagedMismatch }> {
  let algorithm: RecordHashAlgorithm | undefined;
  let ordered = true;
  let end = 0;
  let batch: Batch = { records: [], bytes: 0 };
  let mismatch: StagedMismatch | undefined;
  let failure: { error: unknown } | undefined;
  const running = new Set<Promise<void>>();
  const spare: Buffer[] = [];
  const dispatch = async (full: Batch): Promise<void> => {
    while (running.size >= IN_FLIGHT) await Promise.race(running);
    if (failure) throw failure.error;
    const buffer = spare.pop() ?? Buffer.allocUnsafe(BATCH_BYTES);
    const job: Promise<void> = checkBatch(disk, algorithm!, full, buffer.subarray(0, full.bytes))
      .then(
        (found) => {
          mismatch ??= found;
        },
        (error: unknown) => {
          failure ??= { error };
        },
      )
      .finally(() => {
        running.delete(job);
        spare.push(buffer);
      });
    running.add(job);
  };
  try {
    // Framing only: every payload is passed over (handledBefore), the whole-log hash and counts still checked.
    for await (const entry of decodeLog(new FileChunks(logPath, FRAMING_READ_BYTES), {
      handledBefore: Number.MAX_SAFE_INTEGER,
      onRecordHeader: (layout) => {
        if (layout.type === RecordType.End || !ordered) return;
        if (layout.offset < end) {
          ordered = false;
          return;
        }
        end = layout.offset + layout.length;
        if (layout.type !== RecordType.Data) return;
        const full = batch.records.length > 0 && batch.bytes + layout.length > BATCH_BYTES ? batch : undefined;
        if (full) batch = { records: [], bytes: 0 };
        batch.records.push(layout);
        batch.bytes += layout.length;
        return full && dispatch(full);
      },
    })) {
      if (entry.kind === 'header') algorithm = entry.header.recordHash;
    }
    if (ordered && batch.records.length > 0) await dispatch(batch);
  } finally {
    // Nothing reads the disk once this returns or throws: the caller closes it.
    await Promise.allSettled([...running]);
  }
  if (failure) throw failure.error;
  return { ordered, ...(mismatch ? { mismatch } : {}) };
}

/** The check of a log whose records may overlap: all of them known first, the overwritten ones left out. */
async function checkCollected(logPath: string, disk: VhdxDisk): Promise<StagedMismatch | undefined> {
  const records: RecordLayout[] = [];
  let header: LogHeader | undefined;
  for await (const entry of decodeLog(new FileChunks(logPath, FRAMING_READ_BYTES), {
    handledBefore: Number.MAX_SAFE_INTEGER,
    onRecordHeader: (layout) => {
      if (layout.type !== RecordType.End) records.push(layout);
    },
  })) {
    if (entry.kind === 'header') header = entry.header;
  }
  if (header === undefined) return undefined;
  const algorithm = header.recordHash;
  const overwritten = overwrittenLater(records);
  const checks = records.filter((record, i) => record.type === RecordType.Data && !overwritten[i]);
  if (checks.length === 0) return undefined;
  const batches = inBatches(checks, BATCH_BYTES);
  // A loop, not Math.max(...): a large log has more batches than a call takes arguments.
  const bufferBytes = batches.reduce((most, batch) => Math.max(most, batch.bytes), 0);
  let next = 0;
  let mismatch: StagedMismatch | undefined;
  const worker = async (): Promise<void> => {
    const buffer = Buffer.allocUnsafe(bufferBytes);
    while (mismatch === undefined && next < batches.length) {
      const batch = batches[next++]!;
      const found = await checkBatch(disk, algorithm, batch, buffer.subarray(0, batch.bytes));
      if (found !== undefined) mismatch ??= found;
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, batches.length) }, worker));
  return mismatch;
}

/** Consecutive records read in one request: their bytes add up to `bytes`. */
interface Batch {
  records: RecordLayout[];
  bytes: number;
}

/** Groups `records` in log order into batches of at most `limit` bytes (a larger record alone in its own). */
function inBatches(records: readonly RecordLayout[], limit: number): Batch[] {
  const batches: Batch[] = [];
  let current: Batch = { records: [], bytes: 0 };
  for (const record of records) {
    if (current.records.length > 0 && current.bytes + record.length > limit) {
      batches.push(current);
      current = { records: [], bytes: 0 };
    }
    current.records.push(record);
    current.bytes += record.length;
  }
  if (current.records.length > 0) batches.push(current);
  return batches;
}

/**
 * Reads a batch's ranges into `into` and compares each record's checksum with the log's. Any offset and
 * length: the read takes ranges as they are (a block hash would need the record's length to divide its
 * offset, which a full copy's records of odd lengths do not). The nested checksums take the payload's
 * digest, which the addon computes in the same job while the bytes are in the CPU's cache.
 */
async function checkBatch(disk: VhdxDisk, algorithm: RecordHashAlgorithm, batch: Batch, into: Buffer): Promise<StagedMismatch | undefined> {
  const ranges = batch.records.map((record) => ({ offset: record.offset, length: record.length }));
  const nested = isNestedRecordHash(algorithm);
  const digests = nested ? { algorithm, slots: Buffer.allocUnsafe(ranges.length * 32) } : undefined;
  await disk.readRanges(ranges, into, digests);
  let at = 0;
  for (const [i, record] of batch.records.entries()) {
    const prefix = encodeRecordPrefix(record.type, record.codec, record.end - record.payloadAt, record.offset, record.length);
    const actual =
      nested && digests !== undefined
        ? recordChecksumOfPayloadDigest(prefix, { algorithm, digest: digests.slots.subarray(i * 32, i * 32 + 32) })
        : createHash('sha256').update(prefix).update(into.subarray(at, at + record.length)).digest();
    if (!actual.equals(record.checksum)) return { offset: record.offset, length: record.length };
    at += record.length;
  }
  return undefined;
}

/**
 * For each record (in log order), whether a later record of the log overlaps its range. Walks the log
 * backwards keeping the ranges seen so far merged and sorted; a full copy's records (ascending, adjacent)
 * keep that list at one range.
 */
export function overwrittenLater(records: ReadonlyArray<{ offset: number; length: number }>): boolean[] {
  const covered: Array<{ start: number; end: number }> = [];
  const result = new Array<boolean>(records.length).fill(false);
  for (let i = records.length - 1; i >= 0; i--) {
    const start = records[i]!.offset;
    const end = start + records[i]!.length;
    // First covered range that ends after this record starts.
    let lo = 0;
    let hi = covered.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (covered[mid]!.end <= start) lo = mid + 1;
      else hi = mid;
    }
    result[i] = lo < covered.length && covered[lo]!.start < end;
    // Merge this record with every range it touches (adjacent ones too, to keep the list short).
    let last = lo;
    if (lo > 0 && covered[lo - 1]!.end === start) lo -= 1;
    while (last < covered.length && covered[last]!.start <= end) last += 1;
    const merged = { start: Math.min(start, covered[lo]?.start ?? start), end };
    if (last > lo) merged.end = Math.max(end, covered[last - 1]!.end);
    covered.splice(lo, last - lo, merged);
  }
  return result;
}
