/**
 * A log this process stored (verified whole then) is applied with its uncompressed payloads copied from the log
 * file into the replica's disk file to file, only its framing read and checked again; any other log (written to
 * since its store, or kept across a restart) is read and checked record by record. Both ways give the same bytes
 * (a replica applied each way is compared with the other and with a model), and a log written to after its store
 * is refused when damaged, as before.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, rename, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { LogRecordInput } from '../../src/protocol/index.js';
import type { StoredState } from '../../src/storage/replica-state.js';
import { createVhdxReplicaStorage, type VhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { verifiedLogs } from '../../src/storage/verified-logs.js';
import { tempDir } from '../helpers/paths.js';
import { DISKS, DiskModel, encode, damageFirstPayload, latestHashes, MiB, randomRecords, stream, VM_ID, type CycleSpec } from './fixtures.js';

const INITIAL: CycleSpec = { generation: 1, sequence: 0, base: '', next: 'rp-0' };
const DELTA: CycleSpec = { generation: 1, sequence: 1, base: 'rp-0', next: 'rp-1' };
const NEXT: CycleSpec = { generation: 1, sequence: 2, base: 'rp-1', next: 'rp-2' };

async function pendingLogs(root: string): Promise<string[]> {
  const state = JSON.parse(await readFile(join(root, 'state.json'), 'utf8')) as StoredState;
  const cycle = state.pending[0]!;
  return DISKS.map((d) => join(root, 'incoming', `${cycle.generation}-${cycle.sequence}`, cycle.logs[d.diskId]!));
}

/** Random data (stored uncompressed), compressible data (stored compressed), zeros and trims, unaligned to blocks. */
function mixedRecords(size: number): LogRecordInput[] {
  return [
    ...randomRecords(size, 16),
    { type: 'data', offset: MiB - 1536, data: randomBytes(MiB + 2048) },
    { type: 'data', offset: 2 * MiB + 512, data: Buffer.alloc(64 * 1024, 0x61) },
    { type: 'data', offset: size - 4096, data: Buffer.concat([randomBytes(2048), Buffer.alloc(2048, 0x62)]) },
  ];
}

describe('applying a stored log in place', () => {
  it('copies the payloads of a log this process stored and gives the same bytes as reading and checking it record by record', async () => {
    const dir = tempDir('apply-in-place');
    try {
      const model = new DiskModel();
      const cycles: Array<{ spec: CycleSpec; logs: Map<string, Buffer> }> = [];
      for (const spec of [INITIAL, DELTA, NEXT]) {
        const logs = new Map<string, Buffer>();
        for (const disk of DISKS) {
          const records = mixedRecords(disk.virtualSize);
          logs.set(disk.diskId, await encode(disk.diskId, spec, records, VM_ID, { recordHash: 'xxh128' }));
          model.apply(disk.diskId, records);
        }
        cycles.push({ spec, logs });
      }
      const replicas: Record<'copied' | 'checked', VhdxReplicaStorage> = {
        copied: await createVhdxReplicaStorage(join(dir.path, 'copied'), { vmId: VM_ID, disks: DISKS, blockSize: MiB }),
        checked: await createVhdxReplicaStorage(join(dir.path, 'checked'), { vmId: VM_ID, disks: DISKS, blockSize: MiB }),
      };
      for (const [index, { logs }] of cycles.entries()) {
        for (const [way, storage] of Object.entries(replicas)) {
          for (const disk of DISKS) await storage.receive(stream(logs.get(disk.diskId)!));
          const stored = await pendingLogs(storage.root);
          if (way === 'checked') {
            // A write through the file system (here only of the modification time) makes it a log to check again.
            for (const path of stored) await utimes(path, new Date(), new Date(Date.now() + 1000));
          }
          for (const path of stored) assert.equal(await verifiedLogs.unchanged(path), way === 'copied', `cycle ${index}: ${way} applies ${way === 'copied' ? 'in place' : 'record by record'}`);
          await storage.applyPending();
          for (const path of stored) assert.equal(await verifiedLogs.unchanged(path), false, 'an applied log is forgotten');
        }
        // The second delta goes into a new point's differencing layer (each small write allocates a new block).
        if (index === 1) for (const storage of Object.values(replicas)) await storage.seal();
      }
      const copied = await latestHashes(replicas.copied);
      assert.deepEqual(copied, await latestHashes(replicas.checked), 'both ways give the same disks');
      assert.deepEqual(copied, model.hashes(), 'and what the logs wrote');
    } finally {
      dir.cleanup();
    }
  });

  it('reads and checks a log written to after its store in this process, and refuses it when damaged', async () => {
    const dir = tempDir('apply-in-place-damaged');
    try {
      const root = join(dir.path, 'replica');
      const storage = await createVhdxReplicaStorage(root, { vmId: VM_ID, disks: DISKS, blockSize: MiB });
      for (const disk of DISKS) await storage.receive(stream(await encode(disk.diskId, INITIAL, randomRecords(disk.virtualSize, 8), VM_ID, { recordHash: 'xxh128' })));
      await storage.applyPending();
      const before = await latestHashes(storage);
      const records: LogRecordInput[] = [{ type: 'data', offset: 0, data: randomBytes(MiB) }];
      for (const disk of DISKS) await storage.receive(stream(await encode(disk.diskId, DELTA, records, VM_ID, { recordHash: 'xxh128' })));
      const [path] = await pendingLogs(root);
      await damageFirstPayload(path!, 1234);
      assert.equal(await verifiedLogs.unchanged(path!), false, 'written to since its store');
      // Verified whole before any of its cycle is written (as a log kept across a restart is), and refused.
      await assert.rejects(storage.applyPending(), (e: { code?: string; message?: string }) => e.code === 'ERR_STORED_DATA_CORRUPT' && /record checksum mismatch/.test(e.message ?? ''));
      assert.equal((await latestHashes(storage))[DISKS[0]!.diskId], before[DISKS[0]!.diskId], 'nothing of the damaged record reached the disk');
    } finally {
      dir.cleanup();
    }
  });

  it('forgets nothing it did not see: a log never stored here, or replaced by another file under its name, is checked', async () => {
    const dir = tempDir('verified-logs');
    try {
      const path = join(dir.path, 'a.hvrlog');
      await writeFile(path, 'one');
      assert.equal(await verifiedLogs.unchanged(path), false, 'never remembered');
      await verifiedLogs.remember(path);
      assert.equal(await verifiedLogs.unchanged(path), true);
      await writeFile(join(dir.path, 'b.hvrlog'), 'two');
      await rename(join(dir.path, 'b.hvrlog'), path);
      assert.equal(await verifiedLogs.unchanged(path), false, 'another file (inode) under the name');
      await verifiedLogs.remember(path);
      verifiedLogs.forget(path);
      assert.equal(await verifiedLogs.unchanged(path), false, 'forgotten');
    } finally {
      dir.cleanup();
    }
  });
});
