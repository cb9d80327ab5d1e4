/**
 * DESIGN §3 step 7: the replica server acknowledges a log once it is stored durably and applies it after.
 * Whoever takes the storage lock after the acknowledgement (the next log, a failover, `recovery-point list`,
 * the hash manifests) still finds the cycle applied; a server killed between its answer and the apply
 * applies the stored cycle at its next start, and the content is exactly the primary's.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { open, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configureLogging } from '../../src/logging/logger.js';
import { decodeHeader, parseHeaderPrefix, RecordType } from '../../src/protocol/log-format.js';
import { decodeLog, type RecordLayout } from '../../src/protocol/log-decoder.js';
import { LogReceiver, ReplicaVms } from '../../src/replica/index.js';
import { withStorageLock } from '../../src/replica/storage-lock.js';
import type { StoredState } from '../../src/storage/replica-state.js';
import { createVhdxReplicaStorage, openVhdxReplicaStorage, type VhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { tempDir } from '../helpers/paths.js';
import { DISKS, DiskModel, encode, MiB, randomRecords, readAll, sha, stream, VM_ID, type CycleSpec } from '../storage/fixtures.js';

configureLogging({ quietConsole: true });

const INITIAL: CycleSpec = { generation: 1, sequence: 0, base: '', next: 'rp-0' };
const DELTA: CycleSpec = { generation: 1, sequence: 1, base: 'rp-0', next: 'rp-1' };

async function latestHashes(storage: VhdxReplicaStorage): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const d of DISKS) {
    const disk = await storage.openLatest(d.diskId);
    try {
      out[d.diskId] = sha(await readAll(disk));
    } finally {
      await disk.close();
    }
  }
  return out;
}

async function storedState(root: string): Promise<StoredState> {
  return JSON.parse(await readFile(join(root, 'state.json'), 'utf8')) as StoredState;
}

/** Sends one cycle (a log per disk) through the receiver, as uploads arrive; returns the last answer. */
async function sendCycle(receiver: LogReceiver, root: string, model: DiskModel, cycle: CycleSpec) {
  let answer;
  for (const disk of DISKS) {
    const records = randomRecords(disk.virtualSize, 24);
    const log = await encode(disk.diskId, cycle, records);
    const key = { vmId: VM_ID, diskId: disk.diskId, generation: cycle.generation, sequence: cycle.sequence };
    answer = await receiver.receive(root, key, { offset: 0, uploadId: 'cd'.repeat(16), primaryServerName: 'primary.test', totalLength: log.length }, stream(log));
    model.apply(disk.diskId, records);
  }
  return answer!;
}

/**
 * Stores the delta cycle's logs (random records, applied to `model` if given) in a server process that dies
 * (SIGKILL) as soon as it has acknowledged them, before its apply wrote anything.
 */
async function storeThenDie(root: string, dir: string, model?: DiskModel): Promise<void> {
  const files: string[] = [];
  for (const disk of DISKS) {
    const records = randomRecords(disk.virtualSize, 24);
    const file = join(dir, `${disk.diskId}.hvrlog`);
    await writeFile(file, await encode(disk.diskId, DELTA, records));
    files.push(file);
    model?.apply(disk.diskId, records);
  }
  const child = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'store-then-die.js'), root, ...files], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  assert.equal(signal, 'SIGKILL', `the storing process ended otherwise (exit ${code}): ${stderr}`);
}

/** A new replica of DISKS in a temporary folder, with the server's consumer and receiver over it. */
async function withReplica(body: (root: string, replicas: ReplicaVms, receiver: LogReceiver, dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir('ack-apply');
  const root = join(dir.path, VM_ID);
  try {
    await createVhdxReplicaStorage(root, { vmId: VM_ID, disks: DISKS, blockSize: MiB });
    const replicas = new ReplicaVms();
    await body(root, replicas, new LogReceiver(replicas, { maxLogBytes: 64 * MiB }), dir.path);
    await replicas.settled();
  } finally {
    dir.cleanup();
  }
}

describe('acknowledged when stored, applied after', () => {
  it('a reader taking the storage lock after the acknowledgement finds the cycle applied', async () => {
    await withReplica(async (root, _replicas, receiver) => {
      const model = new DiskModel();
      for (const cycle of [INITIAL, DELTA]) {
        const answer = await sendCycle(receiver, root, model, cycle);
        assert.equal(answer.Accepted, true);
        assert.equal(answer.Position, `${cycle.generation}/${cycle.sequence}@0`);
        // What `recovery-point list`, a failover or the manifest keeper do: open the storage under its lock.
        const seen = await withStorageLock(root, 'test reader', async () => {
          const storage = await openVhdxReplicaStorage(root);
          return { status: await storage.status(), hashes: await latestHashes(storage) };
        });
        assert.equal(seen.status.position?.toString(), `${cycle.generation}/${cycle.sequence}@0`, 'the reader sees the acknowledged cycle applied');
        assert.equal(seen.status.referencePoint, cycle.next);
        assert.deepEqual(seen.status.pending, []);
        assert.deepEqual(seen.hashes, model.hashes());
      }
    });
  });

  it('a delta upload never waits for the storage lock to ask for staging (only a full copy is staged)', async () => {
    await withReplica(async (root, replicas, receiver) => {
      await sendCycle(receiver, root, new DiskModel(), INITIAL);
      await replicas.settled();
      const disk = DISKS[0]!;
      const log = await encode(disk.diskId, DELTA, randomRecords(disk.virtualSize, 2));
      const delta = decodeHeader(log.subarray(0, parseHeaderPrefix(log.subarray(0, 16))));
      // The previous cycle's apply (or a CLI) holds the lock; a delta's header has just arrived.
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const taken = new Promise<void>((resolve) => (locked = resolve));
      const holder = withStorageLock(root, 'test: a long apply', async () => {
        locked();
        await held;
      });
      await taken;
      let answered = false;
      const staging = replicas.stage(root, delta).then((s) => ((answered = true), s));
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(answered, true, 'the delta did not wait for the lock');
      assert.equal(await staging, undefined, 'a delta is not staged');
      release();
      await holder;
    });
  });

  it('a server killed after acknowledging and before applying applies the stored cycle at its next start, exactly', async () => {
    await withReplica(async (root, replicas, receiver, dir) => {
      const model = new DiskModel();
      await sendCycle(receiver, root, model, INITIAL);
      await replicas.settled();
      const before = await latestHashes(await openVhdxReplicaStorage(root));

      // The delta cycle's logs, stored by a server process that dies as soon as it has acknowledged them.
      await storeThenDie(root, dir, model);

      // Acknowledged, not applied: stored durably under incoming/, the content still the previous cycle's.
      const left = await storedState(root);
      assert.deepEqual(left.position, { generation: 1, sequence: 0 });
      assert.deepEqual(left.pending.map((c) => [c.generation, c.sequence, Object.keys(c.logs).length]), [[1, 1, DISKS.length]]);
      assert.deepEqual(await latestHashes(await openVhdxReplicaStorage(root)), before);

      // The next start of the server (its lock is taken over from the dead process) applies it.
      await new ReplicaVms().openExisting([root]);
      const after = await openVhdxReplicaStorage(root);
      assert.equal((await after.status()).position?.toString(), '1/1@0');
      assert.equal((await after.status()).referencePoint, DELTA.next);
      assert.deepEqual((await after.status()).pending, []);
      assert.deepEqual(await latestHashes(after), model.hashes());
    });
  });

  it('a stored cycle damaged at rest before the restart is refused whole, the disks unchanged, and the primary recovers by a resync', async () => {
    await withReplica(async (root, replicas, receiver, dir) => {
      const model = new DiskModel();
      await sendCycle(receiver, root, model, INITIAL);
      await replicas.settled();
      const before = await latestHashes(await openVhdxReplicaStorage(root));
      await storeThenDie(root, dir);

      // Bit rot in the last data record of the first disk's stored log: the records before it are intact.
      const cycle = (await storedState(root)).pending[0]!;
      const stored = join(root, 'incoming', '1-1', cycle.logs[DISKS[0]!.diskId]!);
      const layouts: RecordLayout[] = [];
      for await (const entry of decodeLog([await readFile(stored)], { onRecordHeader: (layout) => layouts.push(layout) })) void entry;
      const last = layouts.filter((l) => l.type === RecordType.Data).at(-1)!;
      const handle = await open(stored, 'r+');
      try {
        const byte = Buffer.alloc(1);
        await handle.read(byte, 0, 1, last.payloadAt + 7);
        byte[0] ^= 0x01;
        await handle.write(byte, 0, 1, last.payloadAt + 7);
      } finally {
        await handle.close();
      }

      // The restarted server refuses the cycle before writing anything of it, and drops it.
      await new ReplicaVms().openExisting([root]);
      const after = await openVhdxReplicaStorage(root);
      assert.equal((await after.status()).position?.toString(), '1/0@0');
      assert.deepEqual((await after.status()).pending, []);
      assert.deepEqual(await latestHashes(after), before, 'no record of the damaged cycle was written');
      assert.deepEqual(await after.applyPending(), { applied: [], sealed: [] }, 'nothing is left to retry for ever');

      // The primary's next cycle is refused as out of sequence (which makes it resynchronize)...
      const next: CycleSpec = { generation: 1, sequence: 2, base: 'rp-1', next: 'rp-2' };
      const log2 = await encode(DISKS[0]!.diskId, next, randomRecords(DISKS[0]!.virtualSize, 4));
      const key2 = { vmId: VM_ID, diskId: DISKS[0]!.diskId, generation: 1, sequence: 2 };
      await assert.rejects(receiver.receive(root, key2, { offset: 0, uploadId: 'ef'.repeat(16), primaryServerName: 'primary.test', totalLength: log2.length }, stream(log2)), (e: { code?: string }) => e.code === 'ERR_LOG_OUT_OF_SEQUENCE');
      // ...and the resync's cycle (the next of the replica's position, from its reference point) is taken and applied exactly.
      const resync: CycleSpec = { generation: 1, sequence: 1, base: 'rp-0', next: 'rp-resync' };
      const answer = await sendCycle(receiver, root, model, resync);
      assert.equal(answer.Accepted, true);
      await replicas.settled();
      const resynced = await openVhdxReplicaStorage(root);
      assert.equal((await resynced.status()).referencePoint, 'rp-resync');
      assert.deepEqual(await latestHashes(resynced), model.hashes());
    });
  });
});
