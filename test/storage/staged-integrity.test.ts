/**
 * Bytes staged while a full copy arrived are read back from disk when the cycle is applied (the staged disk
 * taken as the base, or a hollow log's payloads read from it) maybe long after they were checked (a server
 * restart in between). Damage at rest in between (bit rot, a torn write) must be found by the record
 * checksums before anything is applied: the cycle is refused, the replica's disks are left as they were, and
 * the primary's resend of the same log is taken and applied exactly.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { execFile } from 'node:child_process';
import { open, readFile, rename, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configureLogging } from '../../src/logging/logger.js';
import { decodeLog, type LogRecordInput, type RecordHashAlgorithm, type RecordLayout } from '../../src/protocol/index.js';
import { MAX_RECORD_BYTES } from '../../src/protocol/log-format.js';
import { LogReceiver } from '../../src/replica/index.js';
import type { StoredState } from '../../src/storage/replica-state.js';
import { StorageError } from '../../src/storage/errors.js';
import { overwrittenLater } from '../../src/storage/staged-check.js';
import { openVhdxReplicaStorage, type VhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { openDisk } from '../../src/vhdx/index.js';
import { DISKS, DiskModel, encode, MiB, readAll, sha, stream, VM_ID } from './fixtures.js';
import { stagingConsumer, stagingSetup } from './staging-fixtures.js';

configureLogging({ quietConsole: true });

const INITIAL = { generation: 1, sequence: 0, base: '', next: 'rp-0' };
const DISK = DISKS[0]!;
const KEY = { vmId: VM_ID, diskId: DISK.diskId, generation: 1, sequence: 0 };

function request(log: Buffer, uploadId = 'cd'.repeat(16)) {
  return { offset: 0, uploadId, primaryServerName: 'a.b.c', totalLength: log.length };
}

async function state(root: string): Promise<StoredState> {
  return JSON.parse(await readFile(join(root, 'state.json'), 'utf8')) as StoredState;
}

async function latest(storage: VhdxReplicaStorage, diskId: string): Promise<Buffer> {
  const disk = await storage.openLatest(diskId);
  try {
    return await readAll(disk);
  } finally {
    await disk.close();
  }
}

/** Flips one bit of `file` inside the copy of `payload` it holds (a payload is random: it is there once). */
async function flipInside(file: string, payload: Buffer): Promise<void> {
  const at = (await readFile(file)).indexOf(payload.subarray(0, 64));
  assert.ok(at >= 0, `${file} holds the payload`);
  const handle = await open(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at + 4000);
    byte[0] ^= 0x10;
    await handle.write(byte, 0, 1, at + 4000);
  } finally {
    await handle.close();
  }
}

/** A full copy of the first disk: incompressible records (stored hollow) and a compressible one (kept in the log). */
function fullCopy(): LogRecordInput[] {
  const records: LogRecordInput[] = [];
  for (let at = 0; at < 4 * MiB; at += MiB) records.push({ type: 'data', offset: at, data: randomBytes(MiB) });
  records.push({ type: 'data', offset: 4 * MiB, data: Buffer.alloc(MiB, 'compressible ') });
  records.push({ type: 'trim', offset: 5 * MiB, length: 2 * MiB });
  return records;
}

/**
 * Receives the full copy (staged while it arrives) and the empty logs of the other disks, damages what
 * `damage` picks, reopens the storage as a restarted server does, and checks that applying refuses the cycle
 * and changes nothing, and that the primary's resend is then applied exactly.
 */
async function damagedThenResent(
  recordHash: RecordHashAlgorithm,
  damage: (t: { root: string; cycle: StoredState['pending'][number]; records: LogRecordInput[] }) => Promise<void>,
  records: LogRecordInput[] = fullCopy(),
): Promise<void> {
  const { dir, root, storage } = await stagingSetup('staged-integrity');
  try {
    const log = await encode(DISK.diskId, INITIAL, records, VM_ID, { recordHash });
    const receiver = new LogReceiver(stagingConsumer(storage), { maxLogBytes: 64 * MiB });
    assert.equal((await receiver.receive(root, KEY, request(log), stream(log))).Accepted, true);
    const others = await Promise.all(DISKS.slice(1).map(async (d) => ({ diskId: d.diskId, log: await encode(d.diskId, INITIAL, []) })));
    for (const other of others) await receiver.receive(root, { ...KEY, diskId: other.diskId }, request(other.log), stream(other.log));
    const cycle = (await state(root)).pending[0]!;
    assert.ok(cycle.staged?.[DISK.diskId] !== undefined, 'the full copy was staged');
    const before = await Promise.all(DISKS.map((d) => latest(storage, d.diskId)));

    await damage({ root, cycle, records });
    const restarted = await openVhdxReplicaStorage(root);
    await assert.rejects(restarted.applyPending(), (error: unknown) => {
      assert.ok(error instanceof StorageError, String(error));
      assert.equal(error.code, 'ERR_STORED_DATA_CORRUPT');
      assert.match(error.message, new RegExp(DISK.diskId));
      assert.match(error.message, /not changed/);
      assert.match(error.message, /send it again/);
      assert.match(error.message, /initial replication again/);
      return true;
    });
    const after = await state(root);
    assert.equal(after.position, null, 'the damaged cycle was not applied');
    assert.deepEqual(after.pending, [], 'the damaged cycle was dropped: the primary must send it again');
    assert.deepEqual(await restarted.listRecoveryPoints(), []);
    for (const [i, d] of DISKS.entries()) assert.ok((await latest(restarted, d.diskId)).equals(before[i]!), `disk ${d.diskId} is as it was`);

    // The primary sends the full copy again (a new upload): it is staged, taken and applied exactly.
    const resend = new LogReceiver(stagingConsumer(restarted), { maxLogBytes: 64 * MiB });
    assert.equal((await resend.receive(root, KEY, request(log, 'ef'.repeat(16)), stream(log))).Accepted, true);
    for (const other of others) await resend.receive(root, { ...KEY, diskId: other.diskId }, request(other.log, 'ef'.repeat(16)), stream(other.log));
    await restarted.applyPending();
    const model = new DiskModel();
    model.apply(DISK.diskId, records);
    assert.equal(sha(await latest(restarted, DISK.diskId)), model.hashes()[DISK.diskId]);
    assert.deepEqual((await state(root)).position, { generation: 1, sequence: 0 });
  } finally {
    dir.cleanup();
  }
}

const dataOf = (records: LogRecordInput[], i: number): Buffer => {
  const record = records[i]!;
  assert.equal(record.type, 'data');
  return (record as { data: Buffer }).data;
};

describe('a staged copy this process stored, unchanged since', () => {
  // Staged past the page cache, a copy checked again would be read back whole from the device (seconds per GiB on
  // a slow disk) just after this process wrote it from the bytes it verified. So it is taken as stored, like a log
  // this process stored (verified-logs.ts): what that cannot see is a change that keeps the file's inode, size and
  // modification time, which this test makes on purpose to show the check did not run.
  it('is taken without being read back', async () => {
    const { dir, root, storage } = await stagingSetup('staged-integrity');
    try {
      const records = fullCopy();
      const log = await encode(DISK.diskId, INITIAL, records, VM_ID);
      const receiver = new LogReceiver(stagingConsumer(storage), { maxLogBytes: 64 * MiB });
      assert.equal((await receiver.receive(root, KEY, request(log), stream(log))).Accepted, true);
      for (const d of DISKS.slice(1)) {
        const other = await encode(d.diskId, INITIAL, []);
        await receiver.receive(root, { ...KEY, diskId: d.diskId }, request(other), stream(other));
      }
      const staged = join(root, 'incoming', '1-0', (await state(root)).pending[0]!.staged![DISK.diskId]!);
      const { mtimeNs } = await stat(staged, { bigint: true });
      await flipInside(staged, dataOf(records, 2));
      const seconds = mtimeNs / 1_000_000_000n;
      await promisify(execFile)('touch', ['-m', '-d', `@${seconds}.${String(mtimeNs - seconds * 1_000_000_000n).padStart(9, '0')}`, staged]);
      assert.equal((await stat(staged, { bigint: true })).mtimeNs, mtimeNs, 'the file looks as stored');

      await storage.applyPending();
      assert.deepEqual((await state(root)).position, { generation: 1, sequence: 0 }, 'taken: no check refused it');
      const model = new DiskModel();
      model.apply(DISK.diskId, records);
      assert.notEqual(sha(await latest(storage, DISK.diskId)), model.hashes()[DISK.diskId], 'the flipped bit went in unread');
    } finally {
      dir.cleanup();
    }
  });
});

for (const recordHash of ['xxh128', 'blake3', 'sha256'] as const) describe(`staged full copies damaged at rest (${recordHash} records)`, () => {
  it('refuses to take a staged disk whose payload changed after it was checked', () =>
    damagedThenResent(recordHash, async ({ root, cycle, records }) => {
      await flipInside(join(root, 'incoming', '1-0', cycle.staged![DISK.diskId]!), dataOf(records, 2));
    }));

  it('refuses a staged disk damaged at rest whose log holds its records out of disk order (checked from the whole list)', () => {
    const records = fullCopy().reverse();
    return damagedThenResent(
      recordHash,
      async ({ root, cycle }) => {
        await flipInside(join(root, 'incoming', '1-0', cycle.staged![DISK.diskId]!), dataOf(records, 3));
      },
      records,
    );
  });

  it('refuses to take a staged disk whose decompressed record changed (its bytes are only in the disk)', () =>
    damagedThenResent(recordHash, async ({ root, cycle, records }) => {
      await flipInside(join(root, 'incoming', '1-0', cycle.staged![DISK.diskId]!), dataOf(records, 4));
    }));

  it('refuses a staged copy whose hollow log\'s framing was damaged at rest: the log cannot vouch for the disk', () =>
    damagedThenResent(recordHash, async ({ root, cycle }) => {
      const stored = join(root, 'incoming', '1-0', cycle.logs[DISK.diskId]!);
      const layouts: RecordLayout[] = [];
      for await (const entry of decodeLog(createReadStream(stored), { handledBefore: Number.MAX_SAFE_INTEGER, onRecordHeader: (layout) => layouts.push(layout) })) void entry;
      const handle = await open(stored, 'r+');
      try {
        // A byte of the second record's header: only the whole-log hash covers it in a framing-only read.
        const at = layouts[1]!.payloadAt - 3;
        const byte = Buffer.alloc(1);
        await handle.read(byte, 0, 1, at);
        byte[0] ^= 0x01;
        await handle.write(byte, 0, 1, at);
      } finally {
        await handle.close();
      }
    }));

  it('refuses to apply a hollow log from a base that took the staged disk before a crash, once it is damaged', () =>
    damagedThenResent(recordHash, async ({ root, cycle, records }) => {
      // What takeStaged does before the state records the applied cycle: the staged disk becomes the base.
      const base = join(root, 'disks', `${DISK.diskId}.vhdx`);
      await rename(join(root, 'incoming', '1-0', cycle.staged![DISK.diskId]!), base);
      await flipInside(base, dataOf(records, 0));
    }));
});

/**
 * A full copy as an agent sends one of a disk a guest wrote unevenly: records of any sector multiple, whose
 * lengths do not divide their offsets (the check once hashed each record as one block of its own length, which
 * must divide the offset, and so refused every such apply: 'block size 59904 must be positive and divide the
 * offset 244224'), one crossing a VHDX block boundary, one of the largest size at an unaligned offset, a
 * compressible one, and more bytes than one read of the check takes.
 */
function unevenFullCopy(): LogRecordInput[] {
  const sector = 512;
  return [
    { type: 'data', offset: 0, data: randomBytes(244224) },
    { type: 'data', offset: 244224, data: randomBytes(59904) }, // the shape that failed
    { type: 'data', offset: 304128, data: randomBytes(sector) },
    { type: 'data', offset: 304640, data: randomBytes(3 * sector) },
    { type: 'zero', offset: 306176, length: 7 * sector },
    { type: 'data', offset: MiB - 7 * sector, data: randomBytes(13 * sector) }, // across the first 1 MiB block's end
    { type: 'data', offset: MiB + 6 * sector, data: Buffer.alloc(99 * sector, 'compressible ') },
    { type: 'data', offset: 2 * MiB + 1536, data: randomBytes(MiB - 1536) },
    { type: 'data', offset: 3 * MiB + 3 * sector, data: randomBytes(MAX_RECORD_BYTES) }, // the largest record, unaligned
    { type: 'data', offset: 7 * MiB + 4096, data: randomBytes(MiB - 4096 - 5 * sector) },
    { type: 'trim', offset: 8 * MiB - 5 * sector, length: 5 * sector },
  ];
}

/** The index in unevenFullCopy() of the record of 59904 bytes at 244224. */
const UNEVEN_59904 = 1;

for (const recordHash of ['xxh128', 'blake3', 'sha256'] as const) describe(`staged full copies whose record lengths do not divide their offsets (${recordHash} records)`, () => {
  /** Receives unevenFullCopy() staged, with the empty logs of the other disks; `beforeApply` may change the base first. */
  async function receiveAndApply(beforeApply: (root: string) => Promise<LogRecordInput[]>): Promise<void> {
    const { dir, root, storage } = await stagingSetup('staged-integrity');
    try {
      const records = unevenFullCopy();
      const log = await encode(DISK.diskId, INITIAL, records, VM_ID, { recordHash });
      const receiver = new LogReceiver(stagingConsumer(storage), { maxLogBytes: 64 * MiB });
      assert.equal((await receiver.receive(root, KEY, request(log), stream(log))).Accepted, true);
      for (const d of DISKS.slice(1)) {
        const other = await encode(d.diskId, INITIAL, []);
        await receiver.receive(root, { ...KEY, diskId: d.diskId }, request(other), stream(other));
      }
      const cycle = (await state(root)).pending[0]!;
      assert.ok(cycle.staged?.[DISK.diskId] !== undefined, 'the full copy was staged');
      const before = await beforeApply(root);
      await storage.applyPending();
      const model = new DiskModel();
      model.apply(DISK.diskId, [...before, ...records]);
      assert.equal(sha(await latest(storage, DISK.diskId)), model.hashes()[DISK.diskId]);
      assert.deepEqual((await state(root)).position, { generation: 1, sequence: 0 });
      assert.deepEqual((await state(root)).pending, []);
    } finally {
      dir.cleanup();
    }
  }

  it('takes the staged disk, and the replica holds exactly the log', () => receiveAndApply(() => Promise.resolve([])));

  it('applies the hollow log from the staged disk when the base is not empty any more', () =>
    receiveAndApply(async (root) => {
      // Something wrote into the base after the log was staged: the log is applied, its payloads read from the staged disk.
      const stray = { type: 'data' as const, offset: 5 * MiB + 512, data: Buffer.alloc(3 * 512, 0x5a) };
      const base = await openDisk(join(root, 'disks', `${DISK.diskId}.vhdx`), { writable: true });
      try {
        await base.write(stray.offset, stray.data);
      } finally {
        await base.close();
      }
      return [stray];
    }));

  it('still refuses one whose record of 59904 bytes at 244224 changed at rest', () =>
    damagedThenResent(
      recordHash,
      async ({ root, cycle, records }) => {
        await flipInside(join(root, 'incoming', '1-0', cycle.staged![DISK.diskId]!), dataOf(records, UNEVEN_59904));
      },
      unevenFullCopy(),
    ));
});

describe('records a later record of the same log overlaps (their staged bytes rightly differ)', () => {
  it('are found whatever the order, adjacent ranges are not overlaps', () => {
    const r = (offset: number, length: number) => ({ offset, length });
    assert.deepEqual(overwrittenLater([r(0, 4), r(4, 4), r(8, 4)]), [false, false, false]);
    assert.deepEqual(overwrittenLater([r(8, 4), r(4, 4), r(0, 4)]), [false, false, false]);
    assert.deepEqual(overwrittenLater([r(0, 8), r(4, 2), r(20, 4)]), [true, false, false]);
    assert.deepEqual(overwrittenLater([r(4, 2), r(0, 8), r(0, 2)]), [true, true, false]);
    assert.deepEqual(overwrittenLater([r(10, 2), r(0, 4), r(20, 4), r(11, 9)]), [true, false, false, false]);
    assert.deepEqual(overwrittenLater([r(10, 2), r(0, 4), r(20, 4), r(11, 10)]), [true, false, true, false]);
    assert.deepEqual(overwrittenLater([r(16, 4), r(0, 4), r(8, 4), r(4, 4), r(12, 4)]), [false, false, false, false, false]);
  });

  it('leave a correct staged copy taken: only the bytes that are final are compared', async () => {
    const { dir, root, storage } = await stagingSetup('staged-integrity');
    try {
      const records: LogRecordInput[] = [
        { type: 'data', offset: 0, data: randomBytes(2 * MiB) },
        { type: 'data', offset: MiB, data: randomBytes(MiB) },
      ];
      const log = await encode(DISK.diskId, INITIAL, records, VM_ID, { recordHash: 'xxh128' });
      const receiver = new LogReceiver(stagingConsumer(storage), { maxLogBytes: 64 * MiB });
      await receiver.receive(root, KEY, request(log), stream(log));
      for (const d of DISKS.slice(1)) {
        const other = await encode(d.diskId, INITIAL, []);
        await receiver.receive(root, { ...KEY, diskId: d.diskId }, request(other), stream(other));
      }
      await storage.applyPending();
      const model = new DiskModel();
      model.apply(DISK.diskId, records);
      assert.equal(sha(await latest(storage, DISK.diskId)), model.hashes()[DISK.diskId]);
    } finally {
      dir.cleanup();
    }
  });
});

describe('a stored log damaged after this process stored it', () => {
  it('is verified whole and its cycle refused, not failed half-way and retried for ever', async () => {
    const { dir, root, storage } = await stagingSetup('staged-integrity');
    try {
      const initial = await Promise.all(DISKS.map(async (d) => encode(d.diskId, INITIAL, [])));
      for (const log of initial) await storage.receive(stream(log));
      await storage.applyPending();
      const delta = { generation: 1, sequence: 1, base: 'rp-0', next: 'rp-1' };
      const records: LogRecordInput[] = [0, 1, 2, 3].map((i) => ({ type: 'data', offset: i * MiB, data: randomBytes(MiB) }));
      await storage.receive(stream(await encode(DISK.diskId, delta, records)));
      for (const d of DISKS.slice(1)) await storage.receive(stream(await encode(d.diskId, delta, [])));
      const cycle = (await state(root)).pending[0]!;
      await flipInside(join(root, 'incoming', '1-1', cycle.logs[DISK.diskId]!), dataOf(records, 3));

      // Written to since its store (its modification time moved): it is not taken for the log this process verified.
      await assert.rejects(storage.applyPending(), (error: { code?: string }) => error.code === 'ERR_STORED_DATA_CORRUPT');
      const after = await state(root);
      assert.deepEqual(after.position, { generation: 1, sequence: 0 });
      assert.deepEqual(after.pending, [], 'dropped: the primary resynchronizes');
    } finally {
      dir.cleanup();
    }
  });
});
