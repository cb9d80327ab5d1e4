// ChangeBatches (src/storage/change-batches.ts): records written in batches land exactly as the log says,
// in log order (a later record over an earlier one wins, also across batches), with the early writeback told
// every data byte once; a failed batch fails the drain and nothing after it is sent.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DecodedRecord } from '../../src/protocol/log-decoder.js';
import { CodecId } from '../../src/protocol/log-format.js';
import { ChangeBatches } from '../../src/storage/change-batches.js';
import { createDisk, openDisk } from '../../src/vhdx/index.js';
import { tempDir } from '../helpers/paths.js';
import { MiB } from './fixtures.js';

function data(offset: number, bytes: Buffer): DecodedRecord {
  return { type: 'data', offset, length: bytes.length, codec: CodecId.None, storedLength: bytes.length, pieces: [bytes], data: bytes };
}

describe('change batches', () => {
  it('writes every record in log order whatever the batch limits, and counts the data bytes once', async () => {
    const dir = tempDir('change-batches');
    try {
      const records: DecodedRecord[] = [];
      const model = Buffer.alloc(4 * MiB);
      const add = (r: DecodedRecord): void => {
        records.push(r);
        if (r.type === 'data') r.data.copy(model, r.offset);
        else model.fill(0, r.offset, r.offset + r.length);
      };
      for (let i = 0; i < 40; i++) add(data((i * 37 * 4096) % (3 * MiB), randomBytes(4096 * (1 + (i % 5)))));
      add({ type: 'zero', offset: MiB, length: 64 * 1024 });
      add(data(MiB + 4096, randomBytes(4096)));
      add({ type: 'trim', offset: 3 * MiB, length: MiB });
      add(data(3 * MiB + 512, randomBytes(1024)));
      const dataBytes = records.reduce((sum, r) => sum + (r.type === 'data' ? r.length : 0), 0);
      for (const limits of [{ bytes: 1, records: 1 }, { bytes: 16 * 1024, records: 3 }, { bytes: 64 * MiB, records: 10_000 }]) {
        const path = join(dir.path, `limits-${limits.bytes}-${limits.records}.vhdx`);
        await createDisk(path, { type: 'dynamic', virtualSize: 4 * MiB, blockSize: MiB });
        const disk = await openDisk(path, { writable: true });
        let counted = 0;
        try {
          const batches = new ChangeBatches(disk, { written: (n) => void (counted += n) }, limits);
          for (const r of records) await batches.add(r);
          await batches.drain();
          assert.deepEqual(await disk.read(0, 4 * MiB), model, `limits ${JSON.stringify(limits)}`);
          assert.equal(counted, dataBytes);
        } finally {
          await disk.close();
        }
      }
    } finally {
      dir.cleanup();
    }
  });

  it('fails the drain with the first failed batch and sends nothing after it; abandon drops what was not sent', async () => {
    const dir = tempDir('change-batches-fail');
    const path = join(dir.path, 'fail.vhdx');
    try {
      await createDisk(path, { type: 'dynamic', virtualSize: 4 * MiB, blockSize: MiB });
      const disk = await openDisk(path, { writable: true });
      try {
        const batches = new ChangeBatches(disk, undefined, { bytes: 8192, records: 100 });
        // Past the end of the disk: the engine refuses this batch on the pool.
        await batches.add(data(4 * MiB - 512, Buffer.alloc(8192, 1)));
        await assert.rejects(async () => {
          await batches.add(data(0, Buffer.alloc(8192, 2)));
          await batches.drain();
        }, /outside the virtual disk/);
        const others = new ChangeBatches(disk, undefined, { bytes: 64 * MiB, records: 100 });
        await others.add(data(MiB, Buffer.alloc(8192, 3)));
        await others.abandon();
        assert.deepEqual(await disk.map({ layerOnly: true }), [{ offset: 0, length: 4 * MiB, state: 'absent' }], 'nothing after the failure, nor anything abandoned, was written');
      } finally {
        await disk.close();
      }
    } finally {
      dir.cleanup();
    }
  });
});
