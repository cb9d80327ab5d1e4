/**
 * Turns a cycle's planned records into log records, reading the data of the next few while the encoder
 * works on the current one. A delta lists hundreds of small extents (a 1% cycle of a 4 GiB disk: ~700 of
 * 4–256 KiB); read one after the other, each read was a thread-pool round trip the encoder waited for
 * (measured: 300–360 ms of waiting in a 0.5–0.7 s upload body, bench/replication/README.md, runs D).
 * With several reads in flight the pool reads while the main thread hashes, encrypts and sends.
 *
 * Memory stays bounded: at most `maxReads` reads and `maxBytes` bytes in flight or waiting for the
 * consumer (besides the record it holds). Records come out in the planned order.
 */
import type { DiskImage } from '../host/disk-image.js';
import type { LogRecordInput } from '../protocol/log-encoder.js';
import type { NestedRecordHash } from '../protocol/record-hash.js';
import { readBuffers, readRequestBuffers } from '../util/recycled-buffers.js';

/** A run of the image to read into a data record (at most one chunk long), or a record that needs no read. */
export type PlannedRecord = { type: 'read'; offset: number; length: number } | Exclude<LogRecordInput, { type: 'data' }>;

export interface ReadWindow {
  /** Reads started ahead of the consumer at most. */
  maxReads: number;
  /** Bytes of those reads at most (one read is always allowed, whatever its size). */
  maxBytes: number;
  /**
   * Runs shorter than this are gathered into one request up to this many bytes (default BATCH_BYTES), where the
   * image reads several runs per request.
   */
  requestBytes?: number;
}

/** Four pool threads by default in libuv: a few reads each, and a few MiB, keep them busy without hoarding memory. */
export const DEFAULT_READ_WINDOW: ReadWindow = { maxReads: 8, maxBytes: 4 * 1024 * 1024 };

/**
 * A record without a read, or one read: either a single run or several small runs read in one request (the
 * data of each run is a view of the one buffer).
 */
type Pending = { record: LogRecordInput } | { read: Promise<RunsRead>; runs: readonly Run[]; length: number };

/** What a read gave: the bytes of its runs back to back, and the digest of each run when asked for and read together. */
interface RunsRead {
  data: Buffer;
  /** A 32-byte slot per run. */
  digests?: Buffer;
}

interface Run {
  offset: number;
  length: number;
}

/**
 * Runs shorter than this are read together, up to this many bytes per request, where the image can
 * (`readRanges`): a 1% delta of a 4 GiB disk plans ~700 reads of 4–256 KiB, each a round trip to the thread pool
 * that also woke a pool thread onto the JS thread's core (bench/replication/README.md, "Runs E"). A run of a whole
 * chunk (a full copy's 1 MiB records) is read alone, into a recycled buffer.
 */
export const BATCH_BYTES = 1024 * 1024;
/** Runs in one request at most (a long stretch of tiny extents is still cut into requests the window can hold). */
const BATCH_RUNS = 256;

/** Records without a read (zero, trim) waiting at most: a long run of them is not pulled in whole. */
const MAX_WAITING_RECORDS = 256;

/**
 * Yields `planned` with every 'read' replaced by a data record read from `open()`'s image (opened at the first
 * read, never when nothing is read; the caller closes it after the iteration ends). The window counts reads
 * started and not yet handed to the consumer. Reads still running when the consumer stops are awaited before
 * this returns, so the image can be closed then.
 */
export async function* readAhead(
  planned: AsyncIterable<PlannedRecord>,
  open: () => Promise<DiskImage>,
  window: ReadWindow = DEFAULT_READ_WINDOW,
  /** Runs read together also get the digest of their data by this hash (for a log whose record checksum is built on it). */
  options: { digests?: NestedRecordHash } = {},
): AsyncGenerator<LogRecordInput> {
  const source = planned[Symbol.asyncIterator]();
  const queue: Pending[] = [];
  let reads = 0;
  let readBytes = 0;
  /** The next planned record, pulled but not yet queued (its read did not fit in the window). */
  let peeked: PlannedRecord | undefined;
  let exhausted = false;
  let stopped = false;
  let image: DiskImage | undefined;
  /**
   * The image's open while it runs in the background fill: a consumer that stops meanwhile is answered only once it
   * settled, so the caller, which closes what `open` gave after the iteration, finds it open and closes it.
   */
  let opening: Promise<DiskImage> | undefined;
  /** Wakes the consumer waiting for the queue to get something. */
  let arrived: (() => void) | undefined;
  const enqueue = (pending: Pending) => {
    queue.push(pending);
    arrived?.();
    arrived = undefined;
  };
  /** A pull of the source started and not yet taken (a source slow to answer is not asked twice). */
  let asked: Promise<IteratorResult<PlannedRecord>> | undefined;
  const ask = () => {
    if (!asked) {
      asked = source.next();
      // Observed at once: a pull left pending when the consumer stops must not be an unhandled rejection.
      asked.catch(() => undefined);
    }
    return asked;
  };
  const take = (next: IteratorResult<PlannedRecord>): PlannedRecord | undefined => {
    asked = undefined;
    if (next.done) exhausted = true;
    return next.done ? undefined : next.value;
  };
  /** The source's next record; undefined (and `exhausted`) at its end. */
  const pull = async (): Promise<PlannedRecord | undefined> => take(await ask());
  /** The next record if the source has it within this turn of the event loop, else NOT_YET (the pull stays asked). */
  const pullIfReady = async (): Promise<PlannedRecord | undefined | typeof NOT_YET> => {
    const next = await Promise.race([ask(), thisTurn()]);
    return next === NOT_YET ? NOT_YET : take(next);
  };
  // After every await below: a consumer that stopped meanwhile gets no new read started on an image it closes.
  const fill = async () => {
    while (queue.length < MAX_WAITING_RECORDS) {
      if (peeked === undefined) {
        if (exhausted) return;
        peeked = await pull();
        if (stopped || peeked === undefined) return;
      }
      const item: PlannedRecord = peeked;
      if (item.type !== 'read') {
        peeked = undefined;
        enqueue({ record: item });
        continue;
      }
      if (reads > 0 && (reads >= window.maxReads || readBytes + item.length > window.maxBytes)) return;
      if (!image) {
        opening = open();
        try {
          image = await opening;
        } finally {
          opening = undefined;
        }
      }
      if (stopped) return;
      peeked = undefined;
      const runs: Run[] = [{ offset: item.offset, length: item.length }];
      let length = item.length;
      const requestBytes = window.requestBytes ?? BATCH_BYTES;
      if (image.readRanges && item.length < requestBytes) {
        // Gathers the small runs that follow, as long as the request stays within its bound and the window.
        const room = Math.min(requestBytes, Math.max(item.length, window.maxBytes - readBytes));
        while (runs.length < BATCH_RUNS) {
          if (peeked === undefined && !exhausted) {
            // Only what the source has now: a batch is not held back waiting for extents still being found.
            const next = await pullIfReady();
            if (stopped) return;
            if (next === NOT_YET) break;
            peeked = next;
          }
          if (peeked === undefined || peeked.type !== 'read' || length + peeked.length > room) break;
          runs.push({ offset: peeked.offset, length: peeked.length });
          length += peeked.length;
          peeked = undefined;
        }
      }
      const read = startRead(image, runs, length, options.digests);
      // Observed at once: if the consumer stops early, a failed read-ahead must not be an unhandled rejection.
      read.catch(() => undefined);
      reads += 1;
      readBytes += length;
      enqueue({ read, runs, length });
    }
  };
  // One fill at a time, running while the consumer takes what is queued: a planned source that is slow to give
  // its next record (a comparison's extents arrive as the disk is hashed) does not hold back what is read already.
  let filling: Promise<void> | undefined;
  let failure: { error: unknown } | undefined;
  const refill = (): Promise<void> =>
    (filling ??= fill()
      .catch((error: unknown) => void (failure ??= { error }))
      .finally(() => (filling = undefined)));
  try {
    for (;;) {
      if (failure) throw failure.error;
      const head = queue.shift();
      if (!head) {
        if (exhausted && !filling) return;
        const more = new Promise<void>((resolve) => (arrived = resolve));
        await Promise.race([refill(), more]);
        continue;
      }
      if ('record' in head) {
        void refill();
        yield head.record;
        continue;
      }
      const { data, digests } = await head.read;
      reads -= 1;
      readBytes -= head.length;
      // The slot it leaves is taken at once: the pool reads on while the consumer encodes these records.
      void refill();
      let at = 0;
      for (const [i, run] of head.runs.entries()) {
        const record: LogRecordInput = { type: 'data', offset: run.offset, data: head.runs.length === 1 ? data : data.subarray(at, at + run.length) };
        if (digests && options.digests) record.payloadDigest = { algorithm: options.digests, digest: digests.subarray(i * 32, i * 32 + 32) };
        yield record;
        at += run.length;
      }
    }
  } finally {
    stopped = true;
    // An open is bounded (unlike a pull of a slow source): waited for, or the image it gives would be left open.
    await Promise.allSettled([...(opening ? [opening] : []), ...queue.flatMap((p) => ('read' in p ? [p.read] : []))]);
    // A fill or pull waiting for the source ends with it (nothing starts once stopped); the source is closed after.
    if (filling || asked) void Promise.allSettled([filling, asked]).then(() => source.return?.()).catch(() => undefined);
    else await source.return?.();
  }
}

const NOT_YET = Symbol('not yet');
let turn: Promise<typeof NOT_YET> | undefined;
/** Settles after the microtasks of this turn of the event loop: one timer shared by every wait in the turn. */
function thisTurn(): Promise<typeof NOT_YET> {
  turn ??= new Promise((resolve) =>
    setImmediate(() => {
      turn = undefined;
      resolve(NOT_YET);
    }),
  );
  return turn;
}

async function startRead(image: DiskImage, runs: readonly Run[], length: number, digests: NestedRecordHash | undefined): Promise<RunsRead> {
  // A whole chunk goes into a reused buffer that the upload gives back once sent (recycled-buffers.ts).
  const whole = runs.length === 1 && length === readBuffers.size;
  // A single run's digest too comes from the read's own pool job (a full copy's 1 MiB records): hashing it
  // in a job of its own was a second thread-pool round trip per record, and a second pass over its bytes
  // after they had left the reading thread's cache.
  if (image.readRanges && (runs.length > 1 || digests)) return readRuns(image, runs, length, digests, recycledFor(runs, length));
  const { offset } = runs[0]!;
  return { data: whole && image.readInto ? await readIntoRecycled(image, offset) : await image.read(offset, length) };
}

/** A reused buffer for a request where one fits: a whole chunk, or a full copy's request of several (lent in parts, one per record). */
function recycledFor(runs: readonly Run[], length: number): Buffer | undefined {
  if (runs.length === 1 && length === readBuffers.size) return readBuffers.take();
  if (runs.length > 1 && length === readRequestBuffers.size) return readRequestBuffers.takeInParts(runs.map((run) => run.length));
  return undefined;
}

async function readRuns(image: DiskImage, runs: readonly Run[], length: number, algorithm: NestedRecordHash | undefined, into?: Buffer): Promise<RunsRead> {
  const data = into ?? Buffer.allocUnsafe(length);
  const digests = algorithm ? Buffer.allocUnsafe(runs.length * 32) : undefined;
  await image.readRanges!(runs, data, digests && algorithm ? { algorithm, slots: digests } : undefined);
  return digests ? { data, digests } : { data };
}

async function readIntoRecycled(image: DiskImage, at: number): Promise<Buffer> {
  const into = readBuffers.take();
  await image.readInto!(at, into);
  return into;
}

/** The reads of one extent, each at most `chunk` bytes (a record's payload bound). */
export function* chunkReads(offset: number, length: number, chunk: number): Generator<PlannedRecord> {
  const end = offset + length;
  for (let at = offset; at < end; at += chunk) yield { type: 'read', offset: at, length: Math.min(chunk, end - at) };
}
