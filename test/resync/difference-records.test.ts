/**
 * The records of a comparison's differing extents (differenceRecords): each extent's bytes exactly, zero
 * records where the source is zero, in order; small data extents read several to a request (a resync's 4 KiB
 * extents lie a few to a 64 KiB block, and a request each cost more than their bytes), with their BLAKE3 when
 * asked; extents that arrive as they are found give the same records, and what is read is not held back
 * waiting for them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { differenceRecords } from '../../src/failover/disk-sync.js';
import { blake3 } from '../../src/native/blake3.js';
import type { DiskImage } from '../../src/host/disk-image.js';
import type { RangeDigests } from '../../src/native/block-hash.js';
import type { LogRecordInput } from '../../src/protocol/log-encoder.js';
import type { ChangedExtent } from '../../src/tracking/change-tracker.js';
import { patternBytes } from '../tracking/contract.js';

const KiB = 1024;

/** An image over `data` that counts its requests: single reads, and several ranges in one request (as the VHDX engine). */
function countingImage(data: Buffer): DiskImage & { reads: number; requests: number[] } {
  const image = {
    reads: 0,
    /** Ranges per readRanges request. */
    requests: [] as number[],
    virtualSize: data.length,
    logicalSectorSize: 512 as const,
    read: async (offset: number, length: number) => {
      image.reads += 1;
      return Buffer.from(data.subarray(offset, offset + length));
    },
    readRanges: async (ranges: readonly { offset: number; length: number }[], into: Buffer, digests?: RangeDigests) => {
      assert.ok(digests === undefined || digests.algorithm === 'blake3', 'this image computes BLAKE3 digests only');
      image.requests.push(ranges.length);
      let at = 0;
      for (const [i, r] of ranges.entries()) {
        data.copy(into, at, r.offset, r.offset + r.length);
        blake3(data.subarray(r.offset, r.offset + r.length)).copy(digests?.slots ?? Buffer.alloc(32 * ranges.length), i * 32);
        at += r.length;
      }
    },
    close: async () => undefined,
  };
  return image;
}

async function collect(records: AsyncIterable<LogRecordInput>): Promise<{ type: string; offset: number; bytes: string }[]> {
  const out: { type: string; offset: number; bytes: string }[] = [];
  for await (const r of records) out.push({ type: r.type, offset: r.offset, bytes: r.type === 'data' ? r.data.toString('hex') : String(r.length) });
  return out;
}

describe('difference records', () => {
  const data = patternBytes(4 * 1024 * KiB, 9);
  const extents: ChangedExtent[] = [
    { offset: 4 * KiB, length: 4 * KiB, kind: 'data' },
    { offset: 12 * KiB, length: 8 * KiB, kind: 'data' },
    { offset: 60 * KiB, length: 4 * KiB, kind: 'data' },
    { offset: 64 * KiB, length: 64 * KiB, kind: 'zero' },
    { offset: 128 * KiB, length: 4 * KiB, kind: 'data' },
    { offset: 1024 * KiB, length: 4 * KiB, kind: 'data' },
  ];
  const expected = extents.map((e) => ({ type: e.kind, offset: e.offset, bytes: e.kind === 'data' ? data.subarray(e.offset, e.offset + e.length).toString('hex') : String(e.length) }));

  it('gives each extent its own bytes, zero records where the source is zero, and reads small extents together', async () => {
    const image = countingImage(data);
    let counted = 0;
    assert.deepEqual(await collect(differenceRecords(image, extents, (n) => (counted += n))), expected);
    // The three extents before the zero one in one request, the two after it in another; no single reads.
    assert.deepEqual(image.requests, [3, 2]);
    assert.equal(image.reads, 0);
    assert.equal(counted, extents.reduce((sum, e) => sum + e.length, 0));
  });

  it('gives every data record the BLAKE3 of its bytes when asked (a log whose record checksum is BLAKE3)', async () => {
    for await (const record of differenceRecords(countingImage(data), extents, undefined, { digests: 'blake3' })) {
      if (record.type !== 'data') continue;
      assert.equal(record.payloadDigest?.algorithm, 'blake3');
      assert.deepEqual(record.payloadDigest.digest, blake3(record.data), `digest of the record at ${record.offset}`);
    }
  });

  it('hands over what is read while the next extents are still being found', async () => {
    // The second half arrives only once the first record is out: a reader that waited for more first would stall.
    let firstOut!: () => void;
    const released = new Promise<void>((resolve) => (firstOut = resolve));
    let stalled = false;
    async function* arriving(): AsyncGenerator<ChangedExtent> {
      for (const [i, e] of extents.entries()) {
        if (i === 3) {
          // A guard, not a timing: without it a stalled reader would hang the suite instead of failing it.
          const guard = setTimeout(() => ((stalled = true), firstOut()), 10_000);
          await released;
          clearTimeout(guard);
        }
        yield e;
      }
    }
    const out: { type: string; offset: number; bytes: string }[] = [];
    for await (const r of differenceRecords(countingImage(data), arriving())) {
      out.push({ type: r.type, offset: r.offset, bytes: r.type === 'data' ? r.data.toString('hex') : String(r.length) });
      firstOut();
    }
    assert.equal(stalled, false, 'the first records waited for extents found after them');
    assert.deepEqual(out, expected);
  });
});
