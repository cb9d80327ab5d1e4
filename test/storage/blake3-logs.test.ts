/**
 * Logs with BLAKE3 (format version 3) and XXH3-128 (version 4) record checksums on the replica: stored in
 * incoming/ and verified again by a restarted replica when it applies them (the log says its algorithm, nobody
 * else does), refused when damaged at rest, and staged and stored hollow like version 2 full copies.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configureLogging } from '../../src/logging/logger.js';
import type { LogRecordInput } from '../../src/protocol/index.js';
import { LogReceiver } from '../../src/replica/index.js';
import type { StoredState } from '../../src/storage/replica-state.js';
import { openVhdxReplicaStorage, type VhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { DISKS, DiskModel, encode, damageFirstPayload, latestHashes, MiB, randomRecords, stream, VM_ID, type CycleSpec } from './fixtures.js';
import { stagingConsumer, stagingSetup } from './staging-fixtures.js';

configureLogging({ quietConsole: true });

const INITIAL: CycleSpec = { generation: 1, sequence: 0, base: '', next: 'rp-0' };
const DELTA: CycleSpec = { generation: 1, sequence: 1, base: 'rp-0', next: 'rp-1' };

async function state(root: string): Promise<StoredState> {
  return JSON.parse(await readFile(join(root, 'state.json'), 'utf8')) as StoredState;
}

/** Where a stored, not yet applied, log of the pending cycle lies. */
async function storedLog(root: string, diskId: string): Promise<string> {
  const cycle = (await state(root)).pending[0]!;
  return join(root, 'incoming', `${cycle.generation}-${cycle.sequence}`, cycle.logs[diskId]!);
}

/** A new replica holding an applied initial copy (SHA-256 logs, as an earlier primary sent them). */
async function withReplica(body: (t: { root: string; storage: VhdxReplicaStorage; model: DiskModel }) => Promise<void>): Promise<void> {
  const { dir, root, storage } = await stagingSetup('blake3-logs');
  try {
    const model = new DiskModel();
    for (const disk of DISKS) {
      const records = randomRecords(disk.virtualSize, 8);
      await storage.receive(stream(await encode(disk.diskId, INITIAL, records)));
      model.apply(disk.diskId, records);
    }
    await storage.applyPending();
    await body({ root, storage, model });
  } finally {
    dir.cleanup();
  }
}

for (const [recordHash, version, code] of [['blake3', 3, 3], ['xxh128', 4, 4]] as const) describe(`${recordHash} logs on the replica`, () => {
  const NESTED = { recordHash };
  it(`stores a ${recordHash} cycle in incoming/; a restarted replica verifies it by the algorithm the log names and applies it`, () =>
    withReplica(async ({ root, storage, model }) => {
      for (const disk of DISKS) {
        const records = randomRecords(disk.virtualSize, 12);
        await storage.receive(stream(await encode(disk.diskId, DELTA, records, VM_ID, NESTED)));
        model.apply(disk.diskId, records);
      }
      const stored = await readFile(await storedLog(root, DISKS[0]!.diskId));
      assert.deepEqual([stored.readUInt16LE(8), stored.readUInt8(13)], [version, code], 'kept as it came: its version, its algorithm');
      const restarted = await openVhdxReplicaStorage(root);
      await restarted.applyPending();
      assert.deepEqual(await latestHashes(restarted), model.hashes());
      assert.deepEqual((await state(root)).pending, []);
    }));

  it(`refuses to apply a stored ${recordHash} log whose payload was damaged at rest`, () =>
    withReplica(async ({ root, storage }) => {
      const before = await latestHashes(storage);
      const records: LogRecordInput[] = [{ type: 'data', offset: 0, data: randomBytes(MiB) }];
      for (const disk of DISKS) await storage.receive(stream(await encode(disk.diskId, DELTA, records, VM_ID, NESTED)));
      const path = await storedLog(root, DISKS[0]!.diskId);
      await damageFirstPayload(path, 4321);
      const restarted = await openVhdxReplicaStorage(root);
      await assert.rejects(restarted.applyPending(), (e: { code?: string; message?: string }) => e.code === 'ERR_STORED_DATA_CORRUPT' && /record checksum mismatch/.test(e.message ?? ''));
      assert.equal((await latestHashes(restarted))[DISKS[0]!.diskId], before[DISKS[0]!.diskId], 'nothing of the damaged record reached the disk');
    }));

  it(`stages a ${recordHash} full copy while it arrives, stores it hollow, and applies the hollow log exactly`, async () => {
    const { dir, root, storage } = await stagingSetup('blake3-hollow');
    try {
      const receiver = new LogReceiver(stagingConsumer(storage), { maxLogBytes: 64 * MiB });
      const model = new DiskModel();
      for (const disk of DISKS) {
        // 1 MiB records of incompressible data: stored uncompressed, so their payloads become holes.
        const records: LogRecordInput[] = [0, 1, 2, 3].map((i) => ({ type: 'data', offset: i * MiB, data: randomBytes(MiB) }));
        const log = await encode(disk.diskId, INITIAL, records, VM_ID, NESTED);
        const status = await receiver.receive(root, { vmId: VM_ID, diskId: disk.diskId, generation: 1, sequence: 0 }, { offset: 0, uploadId: 'cd'.repeat(16), primaryServerName: 'a.b.c', totalLength: log.length }, stream(log));
        assert.equal(status.Accepted, true);
        model.apply(disk.diskId, records);
      }
      const cycle = (await state(root)).pending[0]!;
      assert.deepEqual([...(cycle.hollow ?? [])].sort(), DISKS.map((d) => d.diskId).sort(), 'every log of the cycle is stored hollow');
      // Taken as the base before the apply (as after a crash in takeStaged): the hollow log itself is then
      // decoded and applied, its payloads read back from that disk, its framing checked with its record checksum.
      const first = DISKS[0]!.diskId;
      await rename(join(root, 'incoming', '1-0', cycle.staged![first]!), join(root, 'disks', `${first}.vhdx`));
      const restarted = await openVhdxReplicaStorage(root);
      await restarted.applyPending();
      assert.deepEqual(await latestHashes(restarted), model.hashes());
    } finally {
      dir.cleanup();
    }
  });
});
