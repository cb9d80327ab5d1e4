/**
 * A full copy staged while it arrives keeps a hollow log (src/replica/hollow-log.ts): the received file
 * holds the framing, the payloads live only in the staging disk. It is stored and applied like any log, a
 * cut upload resumes at a record boundary with its staging disk, one whose staging disk is gone starts
 * over, and applying it instead of taking the staged disk (or after a crash that took it half-way) gives
 * the same content.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configureLogging } from '../../src/logging/logger.js';
import { decodeLog, type EncodeOptions, type LogRecordInput } from '../../src/protocol/index.js';
import { LogReceiver, OffsetMismatchError, ReplicaError, type LogConsumer } from '../../src/replica/index.js';
import type { StoredState } from '../../src/storage/replica-state.js';
import type { VhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { DISKS, DiskModel, encode, MiB, readAll, sha, stream, VM_ID } from './fixtures.js';
import { stagingConsumer, stagingSetup } from './staging-fixtures.js';

configureLogging({ quietConsole: true });

const INITIAL = { generation: 1, sequence: 0, base: '', next: 'rp-0' };
const DISK = DISKS[0]!;
const KEY = { vmId: VM_ID, diskId: DISK.diskId, generation: 1, sequence: 0 };

const setup = () => stagingSetup('hollow-log');
const consumerOf = stagingConsumer;

/** A full copy of the first disk in 1 MiB records of incompressible data (stored uncompressed), plus a trim. */
function fullCopy(): LogRecordInput[] {
  const records: LogRecordInput[] = [];
  for (let at = 0; at < 6 * MiB; at += MiB) records.push({ type: 'data', offset: at, data: randomBytes(MiB) });
  records.push({ type: 'trim', offset: 6 * MiB, length: 2 * MiB });
  return records;
}

/** The log's bytes, cut after `bytes` as by a lost connection. */
async function* cutAfter(log: Buffer, bytes: number): AsyncGenerator<Buffer> {
  yield* stream(log.subarray(0, bytes));
  throw Object.assign(new Error('connection reset by peer'), { code: 'ECONNRESET' });
}

/** Where each record of a log ends (the boundaries a hollow upload may resume at). */
async function recordEnds(log: Buffer): Promise<number[]> {
  const ends: number[] = [];
  for await (const entry of decodeLog([log], { onRecordHeader: (layout) => ends.push(layout.end) })) void entry;
  return ends;
}

async function state(root: string): Promise<StoredState> {
  return JSON.parse(await readFile(join(root, 'state.json'), 'utf8')) as StoredState;
}

async function latestHash(storage: VhdxReplicaStorage): Promise<string> {
  const disk = await storage.openLatest(DISK.diskId);
  try {
    return sha(await readAll(disk));
  } finally {
    await disk.close();
  }
}

/** Sends the (empty) logs of the other disks, applies the complete cycle, and checks the disk against `records`. */
async function completeAndCheck(receiver: LogReceiver, root: string, storage: VhdxReplicaStorage, records: LogRecordInput[]): Promise<void> {
  for (const other of DISKS.slice(1)) {
    const log = await encode(other.diskId, INITIAL, []);
    await receiver.receive(root, { ...KEY, diskId: other.diskId }, request(log), stream(log));
  }
  const model = new DiskModel();
  model.apply(DISK.diskId, records);
  await storage.applyPending();
  assert.equal(await latestHash(storage), model.hashes()[DISK.diskId]);
}

function request(log: Buffer, offset = 0) {
  return { offset, uploadId: 'ab'.repeat(16), primaryServerName: 'a.b.c', totalLength: log.length };
}

/** A new replica, a receiver staging into it and the log of a full copy of the first disk; cleaned up after. */
async function withFullCopy(
  body: (t: { root: string; storage: VhdxReplicaStorage; receiver: LogReceiver; records: LogRecordInput[]; log: Buffer }) => Promise<void>,
  options: EncodeOptions,
): Promise<void> {
  const { dir, root, storage } = await setup();
  try {
    const records = fullCopy();
    await body({ root, storage, receiver: new LogReceiver(consumerOf(storage), { maxLogBytes: 64 * MiB }), records, log: await encode(DISK.diskId, INITIAL, records, VM_ID, options) });
  } finally {
    dir.cleanup();
  }
}

// SHA-256 records (format version 2, what every primary could send) and XXH3-128 ones (version 4, what a current
// primary sends a current server): the hollow framing and its resume must not depend on the record checksum.
for (const recordHash of ['sha256', 'xxh128'] as const) describe(`hollow logs of staged full copies (${recordHash} records)`, () => {
  const withCopy = (body: Parameters<typeof withFullCopy>[0]) => withFullCopy(body, { recordHash });

  it('keeps the framing of the log and leaves the payloads to the staging disk, then applies exactly', () =>
    withCopy(async ({ root, storage, receiver, records, log }) => {
    await receiver.receive(root, KEY, request(log), stream(log));
    const cycle = (await state(root)).pending[0]!;
    assert.deepEqual(cycle.hollow, [DISK.diskId], 'the stored cycle says its log is hollow');
    const stored = join(root, 'incoming', '1-0', cycle.logs[DISK.diskId]!);
    const info = await stat(stored);
    assert.equal(info.size, log.length, 'the stored log has the length of the log');
    assert.ok(info.blocks * 512 < MiB, `the payloads were never written: ${info.blocks * 512} bytes allocated for ${log.length}`);
    const bytes = await readFile(stored);
    const [firstEnd] = await recordEnds(log);
    assert.ok(bytes.subarray(0, firstEnd! - MiB).equals(log.subarray(0, firstEnd! - MiB)), 'the header and the first record header are there');
    assert.ok(bytes.subarray(firstEnd! - MiB, firstEnd!).equals(Buffer.alloc(MiB)), 'the first payload is a hole');
    assert.ok(bytes.subarray(-64).equals(log.subarray(-64)), 'the trailer is there');
    await completeAndCheck(receiver, root, storage, records);
    }));

  it('resumes a cut upload at a record boundary, with what the staging disk holds', () =>
    withCopy(async ({ root, storage, receiver, records, log }) => {
    const cut = Math.floor(3.5 * MiB);
    await assert.rejects(receiver.receive(root, KEY, request(log), cutAfter(log, cut)), /connection reset/);
    const held = await receiver.status(root, KEY, { uploadId: 'ab'.repeat(16) });
    assert.ok(held.ReceivedBytes > 0 && held.ReceivedBytes <= cut, `held ${held.ReceivedBytes} of ${cut}`);
    assert.ok((await recordEnds(log)).includes(held.ReceivedBytes), 'the upload resumes at the end of a record');
    assert.equal((await stat(join(root, 'uploads', DISK.diskId, '0000000001-000000000000.hvrlog.partial'))).size, held.ReceivedBytes);
    assert.equal((await readdir(join(root, 'staging'))).length, 1, 'the staging disk is kept for the resumed upload');
    await assert.rejects(receiver.receive(root, KEY, request(log, held.ReceivedBytes - 1), stream(log.subarray(held.ReceivedBytes - 1))), (e: OffsetMismatchError) => e.receivedBytes === held.ReceivedBytes);
    const done = await receiver.receive(root, KEY, request(log, held.ReceivedBytes), stream(log.subarray(held.ReceivedBytes)));
    assert.equal(done.Accepted, true);
    assert.deepEqual((await state(root)).pending[0]!.hollow, [DISK.diskId]);
    await completeAndCheck(receiver, root, storage, records);
    }));

  it('starts over after a server killed mid-upload: its file says it is hollow before the first hole', () =>
    withCopy(async ({ root, storage, receiver, records, log }) => {
      // A body that never ends, as when the server process dies under it: the file is left as it is then.
      let stalled!: () => void;
      const stalledPromise = new Promise<void>((resolve) => (stalled = resolve));
      const endless = (async function* () {
        yield* stream(log.subarray(0, 3 * MiB));
        stalled();
        await new Promise(() => undefined);
      })();
      void receiver.receive(root, KEY, request(log), endless);
      await stalledPromise;
      const meta = JSON.parse(await readFile(join(root, 'uploads', DISK.diskId, '0000000001-000000000000.hvrlog.partial.json'), 'utf8')) as { hollow?: { bytes: number } };
      assert.equal(meta.hollow?.bytes, 0, 'the upload is known to be hollow, with nothing kept yet');
      // The restarted server: a new receiver, and staging cleared.
      await storage.clearStaging().catch(() => undefined);
      await rm(join(root, 'staging'), { recursive: true, force: true });
      const restarted = new LogReceiver(consumerOf(storage), { maxLogBytes: 64 * MiB });
      assert.equal((await restarted.status(root, KEY, { uploadId: 'ab'.repeat(16) })).ReceivedBytes, 0);
      assert.equal((await restarted.receive(root, KEY, request(log), stream(log))).Accepted, true);
      await completeAndCheck(restarted, root, storage, records);
    }));

  it('starts over when the staging disk of a cut upload is gone (a server restart clears staging)', () =>
    withCopy(async ({ root, storage, receiver, records, log }) => {
    await assert.rejects(receiver.receive(root, KEY, request(log), cutAfter(log, 3 * MiB)), /connection reset/);
    const held = (await receiver.status(root, KEY, { uploadId: 'ab'.repeat(16) })).ReceivedBytes;
    assert.ok(held > 0);
    await storage.clearStaging();
    assert.equal((await receiver.status(root, KEY, { uploadId: 'ab'.repeat(16) })).ReceivedBytes, 0, 'nothing is held without the payloads');
    await assert.rejects(receiver.receive(root, KEY, request(log, held), stream(log.subarray(held))), (e: OffsetMismatchError) => e.receivedBytes === 0);
    assert.equal((await receiver.receive(root, KEY, request(log), stream(log))).Accepted, true);
    await completeAndCheck(receiver, root, storage, records);
    }));

  it('keeps a complete hollow log whose hand-over failed for a passing reason: the retry sends no byte again', async () => {
    const { dir, root, storage } = await setup();
    try {
      const records = fullCopy();
      const log = await encode(DISK.diskId, INITIAL, records, VM_ID, { recordHash });
      const staging = consumerOf(storage);
      let refusals = 1;
      const busyOnce: LogConsumer = {
        ...staging,
        consume: async (vmDir, received) => {
          if (refusals-- > 0) throw new ReplicaError('ERR_BUSY', 'the storage lock stayed busy; try again later');
          await staging.consume(vmDir, received);
        },
      };
      const receiver = new LogReceiver(busyOnce, { maxLogBytes: 64 * MiB });
      await assert.rejects(receiver.receive(root, KEY, request(log), stream(log)), (e: ReplicaError) => e.code === 'ERR_BUSY');
      assert.equal((await receiver.status(root, KEY, { uploadId: 'ab'.repeat(16) })).ReceivedBytes, log.length, 'the whole log is held');
      assert.equal((await readdir(join(root, 'staging'))).length, 1, 'with the staging disk that holds its payloads');
      const done = await receiver.receive(root, KEY, request(log, log.length), stream(Buffer.alloc(0)));
      assert.equal(done.Accepted, true);
      assert.deepEqual((await state(root)).pending[0]!.hollow, [DISK.diskId]);
      await completeAndCheck(receiver, root, storage, records);
    } finally {
      dir.cleanup();
    }
  });

  it('applies the hollow log over a base that already is the staged disk (a crash came after taking it)', () =>
    withCopy(async ({ root, storage, receiver, records, log }) => {
    await receiver.receive(root, KEY, request(log), stream(log));
    // What takeStaged does before the state records the applied cycle: the staged disk becomes the base.
    const cycle = (await state(root)).pending[0]!;
    await rename(join(root, 'incoming', '1-0', cycle.staged![DISK.diskId]!), join(root, 'disks', `${DISK.diskId}.vhdx`));
    await completeAndCheck(receiver, root, storage, records);
    assert.deepEqual((await state(root)).pending, []);
    }));
});
