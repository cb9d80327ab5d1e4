import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeLog, type LogRecordInput } from '../../src/protocol/log-encoder.js';
import { EARLY_WRITEBACK_BYTES } from '../../src/storage/early-writeback.js';
import { createVhdxReplicaStorage, openVhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { tempDir } from '../helpers/paths.js';
import { MiB, readAll, sha, stream, VM_ID } from './fixtures.js';

// Large enough that applying it starts background syncs of the layer (several EARLY_WRITEBACK_BYTES).
const DISK = { diskId: '0b000000-0000-4000-8000-000000000001', virtualSize: 80 * MiB, logicalSectorSize: 512 as const };

async function encoded(sequence: number, base: string, next: string, records: LogRecordInput[]): Promise<Buffer> {
  const header = { vmId: VM_ID, diskId: DISK.diskId, generation: 1, sequence, baseReferencePoint: base, newReferencePoint: next, virtualSize: DISK.virtualSize, logicalSectorSize: 512 as const, consistency: 'crash' as const };
  const chunks: Buffer[] = [];
  for await (const chunk of encodeLog(header, records, { recordHash: 'blake3' })) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const dataBytes = (records: LogRecordInput[]): number => records.reduce((sum, r) => sum + (r.type === 'data' ? r.data.length : 0), 0);

describe('replica apply with early writeback', () => {
  it('applies logs larger than the writeback step exactly, into the base and a new point layer, and again after a crash before the state commit', async () => {
    const dir = tempDir('apply-writeback');
    const root = join(dir.path, 'replica');
    try {
      const storage = await createVhdxReplicaStorage(root, { vmId: VM_ID, disks: [DISK] });
      const model = Buffer.alloc(DISK.virtualSize);
      const full: LogRecordInput[] = [];
      for (let offset = 0; offset < DISK.virtualSize; offset += MiB) full.push({ type: 'data', offset, data: randomBytes(MiB) });
      assert.ok(dataBytes(full) >= 2 * EARLY_WRITEBACK_BYTES, 'the full copy must start background syncs');
      for (const r of full) if (r.type === 'data') r.data.copy(model, r.offset);
      await storage.receive(stream(await encoded(0, '', 'rp-0', full)));
      assert.equal((await storage.applyPending()).applied.length, 1);
      const afterFull = sha(model);
      const base = await storage.openLatest(DISK.diskId);
      assert.equal(sha(await readAll(base)), afterFull, 'the full copy reads back exactly');
      await base.close();

      // A point is sealed: the delta goes into a new differencing layer, whose blocks it allocates.
      const point = await storage.seal();
      assert.ok(point);
      // Scattered sector-aligned writes, most of a block each but not block-aligned, plus a zero range.
      const delta: LogRecordInput[] = [];
      for (let i = 0; i < 38; i++) delta.push({ type: 'data', offset: i * 2 * MiB + 4096 * (i + 1), data: randomBytes(MiB - 512 * i) });
      delta.push({ type: 'zero', offset: 78 * MiB + 512, length: 64 * 1024 });
      assert.ok(dataBytes(delta) >= EARLY_WRITEBACK_BYTES, 'the delta must start a background sync');
      for (const r of delta) {
        if (r.type === 'data') r.data.copy(model, r.offset);
        else model.fill(0, r.offset, r.offset + r.length);
      }
      await storage.receive(stream(await encoded(1, 'rp-0', 'rp-1', delta)));

      // The crash: everything written and flushed, the state never said so (its old copy and the stored
      // log are put back as they were before the apply).
      const stateBefore = await readFile(join(root, 'state.json'));
      const incomingBefore = join(dir.path, 'incoming-before');
      await cp(join(root, 'incoming'), incomingBefore, { recursive: true });
      assert.equal((await storage.applyPending()).applied.length, 1);
      await writeFile(join(root, 'state.json'), stateBefore);
      await rm(join(root, 'incoming'), { recursive: true, force: true });
      await cp(incomingBefore, join(root, 'incoming'), { recursive: true });

      const restarted = await openVhdxReplicaStorage(root);
      assert.equal((await restarted.status()).position?.sequence, 0, 'the cycle is not counted before its state commit');
      assert.equal((await restarted.applyPending()).applied.length, 1, 'the stored log is applied again');
      assert.equal((await restarted.status()).position?.sequence, 1);
      const latest = await restarted.openLatest(DISK.diskId);
      assert.equal(sha(await readAll(latest)), sha(model), 'the delta applied twice reads exactly as applied once');
      await latest.close();
      const sealed = await restarted.openRecoveryPoint(point.id, DISK.diskId);
      assert.equal(sha(await readAll(sealed)), afterFull, 'the sealed point still shows the full copy only');
      await sealed.close();
    } finally {
      dir.cleanup();
    }
  });
});
