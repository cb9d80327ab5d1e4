/**
 * The records of a comparison's differing extents (differenceRecords): each extent's bytes exactly, zero
 * records where the source is zero, in order; nearby data extents read in one request (a resync's 4 KiB
 * extents lie a few to a 64 KiB block, and a request each cost more than their bytes); extents that arrive
 * as they are found (an async iterable) give the same records.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { differenceRecords } from '../../src/failover/disk-sync.js';
import type { DiskImage } from '../../src/host/disk-image.js';
import type { LogRecordInput } from '../../src/protocol/log-encoder.js';
import type { ChangedExtent } from '../../src/tracking/change-tracker.js';
import { patternBytes } from '../tracking/contract.js';

const KiB = 1024;

function countingImage(data: Buffer): DiskImage & { reads: number } {
  const image = {
    reads: 0,
    virtualSize: data.length,
    logicalSectorSize: 512 as const,
    read: async (offset: number, length: number) => {
      image.reads += 1;
      return Buffer.from(data.subarray(offset, offset + length));
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
  it('reads nearby data extents together, far ones and zero extents apart, and gives each extent its own bytes', async () => {
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
    const image = countingImage(data);
    let counted = 0;
    assert.deepEqual(await collect(differenceRecords(image, extents, (n) => (counted += n))), expected);
    // [4 KiB, 64 KiB) in one read; the zero extent needs none; 128 KiB and 1 MiB are apart.
    assert.equal(image.reads, 3);
    assert.equal(counted, extents.reduce((sum, e) => sum + e.length, 0));

    async function* arriving(): AsyncGenerator<ChangedExtent> {
      for (const e of extents) {
        await new Promise((resolve) => setImmediate(resolve));
        yield e;
      }
    }
    assert.deepEqual(await collect(differenceRecords(countingImage(data), arriving())), expected);
  });
});
