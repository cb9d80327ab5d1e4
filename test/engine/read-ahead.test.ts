/**
 * readAhead: planned records come out in order with their data, several reads run at once within the
 * window (never more), the image is opened only when something is read, and no read outlives the iteration.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DiskImage } from '../../src/host/disk-image.js';
import type { NativeBlockHash, RangeDigests } from '../../src/native/block-hash.js';
import type { LogRecordInput } from '../../src/protocol/log-encoder.js';
import type { PayloadDigest } from '../../src/protocol/record-hash.js';
import { BATCH_BYTES, chunkReads, readAhead, type PlannedRecord } from '../../src/engine/read-ahead.js';
import { giveBackRead, READ_REQUEST_BYTES, readBuffers } from '../../src/util/recycled-buffers.js';

const KiB = 1024;

/** An image whose reads finish only when the test lets them (in any order), so what is in flight can be seen. */
class HeldImage implements DiskImage {
  readonly virtualSize = 64 * 1024 * KiB;
  readonly logicalSectorSize = 512 as const;
  readonly started: Array<{ offset: number; length: number; finish: (error?: Error) => void }> = [];
  inFlight = 0;
  maxInFlight = 0;
  inFlightBytes = 0;
  maxInFlightBytes = 0;
  closed = false;

  read(offset: number, length: number): Promise<Buffer> {
    assert.equal(this.closed, false, 'read after close');
    this.inFlight += 1;
    this.inFlightBytes += length;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.maxInFlightBytes = Math.max(this.maxInFlightBytes, this.inFlightBytes);
    return new Promise<Buffer>((resolve, reject) => {
      this.started.push({
        offset,
        length,
        finish: (error) => {
          this.inFlight -= 1;
          this.inFlightBytes -= length;
          if (error) reject(error);
          else resolve(Buffer.alloc(length, (offset / 512) % 251));
        },
      });
    });
  }

  async close(): Promise<void> {
    assert.equal(this.inFlight, 0, 'closed with reads still running');
    this.closed = true;
  }
}

/** A HeldImage that also reads several runs per request, as the VHDX engine does; each request is recorded. */
class RangesImage extends HeldImage {
  readonly requests: Array<Array<{ offset: number; length: number }>> = [];

  readonly algorithms: (NativeBlockHash | undefined)[] = [];

  async readRanges(ranges: readonly { offset: number; length: number }[], into: Buffer, digests?: RangeDigests): Promise<void> {
    this.algorithms.push(digests?.algorithm);
    this.requests.push(ranges.map((r) => ({ ...r })));
    // One request in flight for all its runs, as the engine's one pool job.
    const whole = await this.read(0, ranges.reduce((sum, r) => sum + r.length, 0));
    assert.equal(whole.length, into.length);
    let at = 0;
    for (const range of ranges) {
      into.fill((range.offset / 512) % 251, at, at + range.length);
      at += range.length;
    }
    // A stand-in digest that names the run, so the test sees each record got its own.
    ranges.forEach((range, i) => digests?.slots.writeDoubleLE(range.offset, i * 32));
  }
}

async function* plan(items: PlannedRecord[]): AsyncGenerator<PlannedRecord> {
  for (const item of items) yield item;
}

/** Finishes every read as soon as it starts (on the next turn), newest first, to show the order is kept anyway. */
function finishing(image: HeldImage): () => void {
  const timer = setInterval(() => {
    for (const read of image.started.splice(0).reverse()) read.finish();
  }, 1);
  return () => clearInterval(timer);
}

describe('readAhead', () => {
  it('yields the planned records in order, data read where planned, and keeps several reads in flight within the window', async () => {
    const image = new HeldImage();
    const items: PlannedRecord[] = [];
    for (let i = 0; i < 40; i++) items.push(i % 5 === 4 ? { type: 'zero', offset: i * 64 * KiB, length: 4096 } : { type: 'read', offset: i * 64 * KiB, length: 64 * KiB });
    const stop = finishing(image);
    const out: LogRecordInput[] = [];
    try {
      for await (const record of readAhead(plan(items), async () => image, { maxReads: 6, maxBytes: 256 * KiB })) out.push(record);
    } finally {
      stop();
    }
    assert.equal(out.length, items.length);
    out.forEach((record, i) => {
      const item = items[i]!;
      if (item.type === 'read') {
        assert.equal(record.type, 'data');
        assert.equal(record.offset, item.offset);
        assert.deepEqual((record as { data: Buffer }).data, Buffer.alloc(item.length, (item.offset / 512) % 251));
      } else assert.deepEqual(record, item);
    });
    assert.ok(image.maxInFlight > 1, `reads overlapped (at most ${image.maxInFlight} at once)`);
    assert.ok(image.maxInFlight <= 6, `never more reads than the window (${image.maxInFlight})`);
    assert.ok(image.maxInFlightBytes <= 256 * KiB, `never more bytes than the window (${image.maxInFlightBytes})`);
  });

  it('always reads one record even when it is larger than the byte window', async () => {
    const image = new HeldImage();
    const stop = finishing(image);
    try {
      const out: LogRecordInput[] = [];
      for await (const record of readAhead(plan([...chunkReads(0, 3 * 1024 * KiB, 1024 * KiB)]), async () => image, { maxReads: 4, maxBytes: 64 * KiB })) out.push(record);
      assert.deepEqual(out.map((r) => [r.offset, (r as { data: Buffer }).data.length]), [[0, 1024 * KiB], [1024 * KiB, 1024 * KiB], [2048 * KiB, 1024 * KiB]]);
      assert.equal(image.maxInFlight, 1, 'one read at a time when a single one fills the byte window');
    } finally {
      stop();
    }
  });

  it('reads runs of small reads together where the image can, within the request bound and the window', async () => {
    const image = new RangesImage();
    const items: PlannedRecord[] = [];
    // 40 runs of 64 KiB, a zero record after the 25th, then a whole chunk and two more small runs.
    for (let i = 0; i < 40; i++) {
      items.push({ type: 'read', offset: i * 128 * KiB, length: 64 * KiB });
      if (i === 24) items.push({ type: 'zero', offset: 100 * 1024 * KiB, length: 4096 });
    }
    items.push({ type: 'read', offset: 200 * 1024 * KiB, length: BATCH_BYTES });
    items.push({ type: 'read', offset: 300 * 1024 * KiB, length: 4096 }, { type: 'read', offset: 301 * 1024 * KiB, length: 8192 });
    const stop = finishing(image);
    const out: LogRecordInput[] = [];
    try {
      for await (const record of readAhead(plan(items), async () => image, { maxReads: 8, maxBytes: 4 * 1024 * KiB })) out.push(record);
    } finally {
      stop();
    }
    assert.equal(out.length, items.length);
    out.forEach((record, i) => {
      const item = items[i]!;
      if (item.type !== 'read') return assert.deepEqual(record, item);
      assert.equal(record.type, 'data');
      assert.equal(record.offset, item.offset);
      assert.deepEqual((record as { data: Buffer }).data, Buffer.alloc(item.length, (item.offset / 512) % 251), `data of record ${i}`);
    });
    const sizes = image.requests.map((runs) => runs.reduce((sum, r) => sum + r.length, 0));
    // 16 runs fill a 1 MiB request; the zero record ends the second one at 9 runs.
    assert.deepEqual(image.requests.map((runs) => runs.length), [16, 9, 15, 2]);
    assert.ok(sizes.every((n) => n <= BATCH_BYTES), `no request above ${BATCH_BYTES} bytes (${sizes.join(', ')})`);
    // The whole chunk went alone, through a plain read (the requests hold only the small runs).
    assert.ok(image.requests.every((runs) => runs.every((r) => r.length < BATCH_BYTES)));
    assert.ok(image.maxInFlightBytes <= 4 * 1024 * KiB, `never more bytes than the window (${image.maxInFlightBytes})`);
  });

  it('hands each record of a request its digest by the hash asked for, and none otherwise', async () => {
    const items: PlannedRecord[] = [...chunkReads(0, 256 * KiB, 16 * KiB)];
    for (const digests of ['blake3', 'xxh128', undefined] as const) {
      const image = new RangesImage();
      const stop = finishing(image);
      const out: LogRecordInput[] = [];
      try {
        for await (const record of readAhead(plan(items), async () => image, undefined, digests ? { digests } : {})) out.push(record);
      } finally {
        stop();
      }
      assert.equal(out.length, 16);
      assert.equal(image.requests.length, 1);
      assert.deepEqual(image.algorithms, [digests], 'the image was asked for digests by that hash, or none');
      for (const record of out) {
        assert.equal(record.type, 'data');
        const given = record.type === 'data' ? record.payloadDigest : undefined;
        if (digests) {
          assert.equal(given?.algorithm, digests);
          assert.equal(given?.digest.readDoubleLE(0), record.offset, `the digest of the run at ${record.offset}`);
        } else assert.equal(given, undefined);
      }
    }
  });

  it('reads a whole chunk with its digest in one request, into a lent buffer, when digests are asked', async () => {
    // A full copy's 1 MiB records: the digest comes from the read's own request, not from a hashing job after it.
    const items: PlannedRecord[] = [...chunkReads(0, 3 * 1024 * KiB, 1024 * KiB)];
    for (const digests of ['xxh128', undefined] as const) {
      const image = new RangesImage();
      const stop = finishing(image);
      const out: LogRecordInput[] = [];
      try {
        for await (const record of readAhead(plan(items), async () => image, { maxReads: 1, maxBytes: 1024 * KiB }, digests ? { digests } : {})) out.push(record);
      } finally {
        stop();
      }
      assert.deepEqual(out.map((r) => r.offset), [0, 1024 * KiB, 2048 * KiB]);
      // With digests each chunk is one request of one run; without, none goes through readRanges (a plain read).
      assert.deepEqual(image.requests, digests ? items.map((item) => [{ offset: item.offset, length: 1024 * KiB }]) : []);
      for (const record of out) {
        const { data, payloadDigest } = record as { data: Buffer; payloadDigest?: PayloadDigest };
        assert.deepEqual(data, Buffer.alloc(1024 * KiB, (record.offset / 512) % 251));
        if (digests) {
          assert.equal(payloadDigest?.algorithm, digests);
          assert.equal(payloadDigest?.digest.readDoubleLE(0), record.offset, `the digest of the chunk at ${record.offset}`);
          // Read into a buffer the recycler lent, so the upload can give it back.
          assert.equal(readBuffers.give(data), true, 'a lent buffer');
        } else assert.equal(payloadDigest, undefined);
      }
    }
  });

  it('reads a full copy\'s whole chunks several to a request, into one buffer lent in parts, one per record', async () => {
    const items: PlannedRecord[] = [...chunkReads(0, 8 * 1024 * KiB, 1024 * KiB)];
    const image = new RangesImage();
    const stop = finishing(image);
    const out: LogRecordInput[] = [];
    try {
      const window = { maxReads: 1, maxBytes: READ_REQUEST_BYTES, requestBytes: READ_REQUEST_BYTES };
      for await (const record of readAhead(plan(items), async () => image, window, { digests: 'xxh128' })) out.push(record);
    } finally {
      stop();
    }
    assert.deepEqual(image.requests.map((runs) => runs.length), [4, 4]);
    assert.deepEqual(out.map((r) => r.offset), items.map((item) => item.offset));
    for (const record of out) {
      const { data, payloadDigest } = record as { data: Buffer; payloadDigest?: PayloadDigest };
      assert.deepEqual(data, Buffer.alloc(1024 * KiB, (record.offset / 512) % 251));
      assert.equal(payloadDigest?.algorithm, 'xxh128');
      assert.equal(payloadDigest?.digest.readDoubleLE(0), record.offset, `the digest of the chunk at ${record.offset}`);
    }
    // Each record is a part the upload gives back on its own; the request's buffer is reused once all four are back.
    assert.deepEqual(out.map((r) => giveBackRead((r as { data: Buffer }).data)), out.map(() => true));
  });

  it('keeps a request of several runs within the byte window', async () => {
    const image = new RangesImage();
    const stop = finishing(image);
    try {
      const out: LogRecordInput[] = [];
      for await (const record of readAhead(plan([...chunkReads(0, 1024 * KiB, 32 * KiB)]), async () => image, { maxReads: 4, maxBytes: 256 * KiB })) out.push(record);
      assert.equal(out.length, 32);
      assert.ok(image.requests.every((runs) => runs.length * 32 * KiB <= 256 * KiB), 'no request larger than the window');
      assert.ok(image.maxInFlightBytes <= 256 * KiB, `never more bytes than the window (${image.maxInFlightBytes})`);
    } finally {
      stop();
    }
  });

  it('opens no image when nothing is read', async () => {
    let opened = 0;
    const out: LogRecordInput[] = [];
    const items: PlannedRecord[] = [{ type: 'zero', offset: 0, length: 4096 }, { type: 'trim', offset: 8192, length: 4096 }];
    for await (const record of readAhead(plan(items), async () => (opened++, new HeldImage()))) out.push(record);
    assert.deepEqual(out, items);
    assert.equal(opened, 0);
  });

  it('waits for the reads it started when the consumer stops early, so the image can be closed then', async () => {
    const image = new HeldImage();
    const iterator = readAhead(plan([...chunkReads(0, 1024 * KiB, 64 * KiB)]), async () => image, { maxReads: 8, maxBytes: 1024 * KiB });
    const first = iterator.next();
    // Let the window fill, then finish the first read only.
    while (image.started.length < 8) await new Promise((resolve) => setImmediate(resolve));
    image.started.shift()!.finish();
    assert.equal((await first).value?.offset, 0);
    assert.ok(image.inFlight >= 7, 'the rest of the window is still being read');
    let returned = false;
    const stopping = iterator.return(undefined).then(() => (returned = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(returned, false, 'return() waits for the reads in flight');
    for (const read of image.started.splice(0)) read.finish(new Error('cut'));
    await stopping;
    await image.close();
  });

  it('fails at the record whose read failed, after the records before it', async () => {
    const image = new HeldImage();
    const timer = setInterval(() => {
      for (const read of image.started.splice(0)) read.finish(read.offset === 128 * KiB ? new Error('EIO at 128 KiB') : undefined);
    }, 1);
    const seen: number[] = [];
    try {
      await assert.rejects(async () => {
        for await (const record of readAhead(plan([...chunkReads(0, 512 * KiB, 64 * KiB)]), async () => image)) seen.push(record.offset);
      }, /EIO at 128 KiB/);
    } finally {
      clearInterval(timer);
    }
    assert.deepEqual(seen, [0, 64 * KiB]);
    assert.equal(image.inFlight, 0, 'nothing left running after the failure');
  });
});

describe('readAhead stopped while its image is being opened', () => {
  it('returns only once the open has settled, so the caller closes the image it opened (a delta\'s first records need no read)', async () => {
    const image = new HeldImage();
    let opened = 0;
    let closed = 0;
    let openCalled!: () => void;
    const calling = new Promise<void>((resolve) => (openCalled = resolve));
    let letOpen!: () => void;
    const opening = new Promise<void>((resolve) => (letOpen = resolve));
    // As replicator.ts's delta: the image is opened at the first read and closed by the caller after the iteration.
    async function* records(): AsyncGenerator<LogRecordInput> {
      let held: HeldImage | undefined;
      const open = async (): Promise<DiskImage> => {
        openCalled();
        await opening;
        opened += 1;
        return (held ??= image);
      };
      try {
        yield* readAhead(plan([{ type: 'zero', offset: 0, length: 4096 }, { type: 'read', offset: 8192, length: 4096 }]), open);
      } finally {
        if (held) {
          await held.close();
          closed += 1;
        }
      }
    }
    const iterator = records();
    assert.equal((await iterator.next()).value?.type, 'zero');
    // The consumer stops (an upload failed) while the background fill waits for the image to open.
    await calling;
    const stopping = iterator.return(undefined);
    // The open is slow (a host's reference point): it ends only after the consumer's stop has been handled.
    await new Promise((resolve) => setImmediate(resolve));
    letOpen();
    await stopping;
    await opening;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(opened, 1);
    assert.equal(closed, opened, 'the image opened for the read that was never started is closed by its caller');
    assert.equal(image.inFlight, 0, 'no read started after the consumer stopped');
  });
});
