/**
 * The ReplicaStorage contract: every implementation runs this suite (style principle 7). The fixture
 * creates a fresh storage for the VM and disks of ./fixtures.ts and can reopen it as after a restart.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe } from 'node:test';
import type { LogRecordInput } from '../../src/protocol/log-encoder.js';
import type { ReplicaStorage, ReplicaStorageSettings } from '../../src/storage/replica-storage.js';
import { DISKS, DiskModel, encode, ManualClock, randomRecords, readAll, sha, stream, type CycleSpec } from './fixtures.js';
import { fixtureTest } from '../helpers/fixture.js';

export interface StorageFixture {
  clock: ManualClock;
  create(settings?: Partial<ReplicaStorageSettings>): Promise<ReplicaStorage>;
  reopen(): Promise<ReplicaStorage>;
  cleanup(): Promise<void>;
}

const code = (c: string) => (error: { code?: string }) => error.code === c;
const [D1, D2] = [DISKS[0]!.diskId, DISKS[1]!.diskId];
const HOUR = 3600_000;

/** Sends one cycle (a log per disk), applies it, and mirrors it in the model. */
async function cycle(storage: ReplicaStorage, model: DiskModel, spec: CycleSpec, records?: Record<string, LogRecordInput[]>): Promise<void> {
  for (const disk of DISKS) {
    const recs = records?.[disk.diskId] ?? randomRecords(disk.virtualSize, 12);
    await storage.receive(stream(await encode(disk.diskId, spec, recs)));
    model.apply(disk.diskId, recs);
  }
  await storage.applyPending();
}

async function hashesAt(storage: ReplicaStorage, pointId: string | 'latest'): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const { diskId } of DISKS) {
    const disk = pointId === 'latest' ? await storage.openLatest(diskId) : await storage.openRecoveryPoint(pointId, diskId);
    try {
      out[diskId] = sha(await readAll(disk));
    } finally {
      await disk.close();
    }
  }
  return out;
}

const initial: CycleSpec = { generation: 1, sequence: 0, base: '', next: 'rp-0' };
const delta = (s: number, consistency: 'crash' | 'application' = 'crash'): CycleSpec => ({ generation: 1, sequence: s, base: `rp-${s - 1}`, next: `rp-${s}`, consistency });

export function replicaStorageContract(name: string, makeFixture: () => Promise<StorageFixture>): void {
  describe(`ReplicaStorage contract: ${name}`, () => {
    const withFixture = fixtureTest(makeFixture);

    withFixture('applies an initial copy and deltas; every recovery point reads as the primary did then', async (f) => {
      const storage = await f.create({ recoveryHistory: 10, sealIntervalMs: HOUR });
      const model = new DiskModel();
      const expected = new Map<string, Record<string, string>>();
      await cycle(storage, model, initial);
      for (let s = 1; s <= 5; s += 1) {
        await cycle(storage, model, delta(s));
        if (s % 2 === 1) {
          f.clock.advance(HOUR);
          const point = await storage.sealIfDue();
          assert.ok(point, `a point is due after cycle ${s}`);
          assert.equal(point.consistency, 'crash');
          assert.deepEqual([point.generation, point.sequence, point.referencePoint], [1, s, `rp-${s}`]);
          expected.set(point.id, model.hashes());
        } else {
          assert.equal(await storage.sealIfDue(), undefined, 'no point before the interval');
        }
      }
      const status = await storage.status();
      assert.equal(status.position?.toString(), '1/5@0');
      assert.equal(status.referencePoint, 'rp-5');
      const points = await storage.listRecoveryPoints();
      assert.deepEqual(points.map((p) => p.sequence), [1, 3, 5]);
      for (const p of points) assert.deepEqual(await hashesAt(storage, p.id), expected.get(p.id), `point ${p.sequence}`);
      assert.deepEqual(await hashesAt(storage, 'latest'), model.hashes());
      assert.deepEqual(await hashesAt(await f.reopen(), points[0]!.id), expected.get(points[0]!.id), 'points survive a restart');
    });

    withFixture('seals an application-consistent point at once', async (f) => {
      const storage = await f.create();
      const model = new DiskModel();
      await cycle(storage, model, initial);
      await cycle(storage, model, delta(1, 'application'));
      const points = await storage.listRecoveryPoints();
      assert.equal(points.length, 1);
      assert.equal(points[0]!.consistency, 'application');
      const sealed = model.hashes();
      assert.deepEqual(await hashesAt(storage, points[0]!.id), sealed);
      await cycle(storage, model, delta(2));
      assert.deepEqual(await hashesAt(storage, points[0]!.id), sealed, 'later cycles never change a sealed point');
      assert.deepEqual(await hashesAt(storage, 'latest'), model.hashes());
    });

    withFixture('merges the points beyond the recovery history and keeps the rest intact', async (f) => {
      const storage = await f.create({ recoveryHistory: 2, sealIntervalMs: HOUR });
      const model = new DiskModel();
      const expected = new Map<string, Record<string, string>>();
      await cycle(storage, model, initial);
      for (let s = 1; s <= 5; s += 1) {
        await cycle(storage, model, delta(s));
        const point = await storage.seal(f.clock.read());
        assert.ok(point);
        expected.set(point.id, model.hashes());
      }
      const points = await storage.listRecoveryPoints();
      assert.deepEqual(points.map((p) => p.sequence), [4, 5]);
      for (const p of points) assert.deepEqual(await hashesAt(storage, p.id), expected.get(p.id), `point ${p.sequence}`);
      await assert.rejects(storage.openRecoveryPoint([...expected.keys()][0]!, D1), code('ERR_RECOVERY_POINT_NOT_FOUND'));
      await cycle(storage, model, delta(6));
      assert.deepEqual(await hashesAt(storage, 'latest'), model.hashes());
    });

    withFixture('refuses a log out of sequence, a duplicate, another VM, a corrupt log, and stores nothing', async (f) => {
      const storage = await f.create();
      const model = new DiskModel();
      await cycle(storage, model, initial);
      const records = [{ type: 'data' as const, offset: 0, data: randomBytes(4096) }];
      await assert.rejects(storage.receive(stream(await encode(D1, delta(2), records))), code('ERR_LOG_OUT_OF_SEQUENCE'));
      await assert.rejects(storage.receive(stream(await encode(D1, { ...delta(1), base: 'elsewhere' }, records))), code('ERR_LOG_OUT_OF_SEQUENCE'));
      await assert.rejects(storage.receive(stream(await encode(D1, initial, records))), code('ERR_LOG_DUPLICATE'));
      await assert.rejects(storage.receive(stream(await encode(D1, delta(1), records, '7f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7'))), code('ERR_LOG_MISMATCH'));
      const corrupt = await encode(D1, delta(1), records);
      corrupt[corrupt.length - 200] ^= 0xff;
      await assert.rejects(storage.receive(stream(corrupt)), code('ERR_LOG_CHECKSUM'));
      const truncated = await encode(D1, delta(1), records);
      await assert.rejects(storage.receive(stream(truncated.subarray(0, truncated.length - 10))), code('ERR_LOG_TRUNCATED'));
      const status = await storage.status();
      assert.equal(status.position?.toString(), '1/0@0');
      assert.deepEqual(status.pending, []);
      assert.deepEqual(await hashesAt(storage, 'latest'), model.hashes());
    });

    withFixture('moves the position only when every disk of a cycle is applied', async (f) => {
      const storage = await f.create();
      const model = new DiskModel();
      await cycle(storage, model, initial);
      const recs = randomRecords(DISKS[0]!.virtualSize, 4);
      const first = await storage.receive(stream(await encode(D1, delta(1), recs)));
      assert.equal(first.cycleComplete, false);
      assert.deepEqual((await storage.applyPending()).applied, []);
      assert.equal((await storage.status()).position?.sequence, 0);
      const recs2 = randomRecords(DISKS[1]!.virtualSize, 4);
      const second = await storage.receive(stream(await encode(D2, delta(1), recs2)));
      assert.equal(second.cycleComplete, true);
      model.apply(D1, recs);
      model.apply(D2, recs2);
      assert.equal((await storage.applyPending()).applied.length, 1);
      assert.equal((await storage.status()).position?.sequence, 1);
      assert.deepEqual(await hashesAt(storage, 'latest'), model.hashes());
    });

    withFixture('takes a resend of the last cycle after a lost acknowledgement', async (f) => {
      const storage = await f.create();
      const model = new DiskModel();
      await cycle(storage, model, initial);
      const lost = { D1: randomRecords(DISKS[0]!.virtualSize, 5), D2: randomRecords(DISKS[1]!.virtualSize, 5) };
      await cycle(storage, model, delta(1), { [D1]: lost.D1, [D2]: lost.D2 });
      // The primary never saw the acknowledgement: it sends the union of changes against rp-0 again.
      const union = { [D1]: [...lost.D1, ...randomRecords(DISKS[0]!.virtualSize, 3)], [D2]: [...lost.D2, ...randomRecords(DISKS[1]!.virtualSize, 3)] };
      await cycle(storage, model, { ...delta(1), next: 'rp-1b' }, union);
      const status = await storage.status();
      assert.equal(status.referencePoint, 'rp-1b');
      assert.deepEqual(await hashesAt(storage, 'latest'), model.hashes());
      await cycle(storage, model, { generation: 1, sequence: 2, base: 'rp-1b', next: 'rp-2' });
      assert.deepEqual(await hashesAt(storage, 'latest'), model.hashes());
    });

    withFixture('replaces a half-received cycle that the primary resends with a newer point', async (f) => {
      const storage = await f.create();
      const model = new DiskModel();
      await cycle(storage, model, initial);
      await storage.receive(stream(await encode(D1, delta(1), randomRecords(DISKS[0]!.virtualSize, 5))));
      // Delivery broke before the second disk: the primary discarded rp-1 and sends the union as rp-1b.
      await cycle(storage, model, { ...delta(1), next: 'rp-1b' });
      const status = await storage.status();
      assert.equal(status.referencePoint, 'rp-1b');
      assert.deepEqual(status.pending, []);
      assert.deepEqual(await hashesAt(storage, 'latest'), model.hashes());
    });

    withFixture('keeps received logs across a restart and applies them then', async (f) => {
      const storage = await f.create();
      const model = new DiskModel();
      await cycle(storage, model, initial);
      for (const disk of DISKS) {
        const recs = randomRecords(disk.virtualSize, 6);
        await storage.receive(stream(await encode(disk.diskId, delta(1), recs)));
        model.apply(disk.diskId, recs);
      }
      const reopened = await f.reopen();
      assert.equal((await reopened.status()).pending.length, 1);
      assert.equal((await reopened.applyPending()).applied.length, 1);
      assert.deepEqual(await hashesAt(reopened, 'latest'), model.hashes());
    });

    withFixture('validates its settings', async (f) => {
      await assert.rejects(f.create({ recoveryHistory: -1 }), code('ERR_INVALID_ARGUMENT'));
      await assert.rejects(f.create({ sealIntervalMs: 0 }), code('ERR_INVALID_ARGUMENT'));
    });

  });
}
