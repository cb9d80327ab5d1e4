/**
 * A full copy applied while it arrives: the receiver writes each verified record into a staging disk;
 * the replica exposes it only once the whole log is verified, stored and applied, and only in place of a
 * base disk that is still empty. Whatever goes wrong, the replica shows what applying the log would show.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configureLogging } from '../../src/logging/logger.js';
import { LogReceiver, ReplicaVms } from '../../src/replica/index.js';
import { CoalescingWriter } from '../../src/replica/coalescing-writer.js';
import type { StoredState } from '../../src/storage/replica-state.js';
import type { VhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { openDisk } from '../../src/vhdx/index.js';
import { DISKS, DiskModel, encode, MiB, randomRecords, readAll, sha, stream, VM_ID } from './fixtures.js';
import { asVersion1 } from '../helpers/log-version1.js';
import { stagingConsumer, stagingSetup } from './staging-fixtures.js';

configureLogging({ quietConsole: true });

const INITIAL = { generation: 1, sequence: 0, base: '', next: 'rp-0' };

const setup = () => stagingSetup('staged-apply');
const consumerOf = stagingConsumer;

async function latestHash(storage: VhdxReplicaStorage, diskId: string): Promise<string> {
  const disk = await storage.openLatest(diskId);
  try {
    return sha(await readAll(disk));
  } finally {
    await disk.close();
  }
}

async function state(root: string): Promise<StoredState> {
  return JSON.parse(await readFile(join(root, 'state.json'), 'utf8')) as StoredState;
}

/** Files this process holds open under `dir` (Linux: /proc/self/fd); empty where that cannot be seen. */
async function openFilesUnder(dir: string): Promise<string[]> {
  const fds = await readdir('/proc/self/fd').catch(() => [] as string[]);
  const targets = await Promise.all(fds.map((fd) => readlink(join('/proc/self/fd', fd)).catch(() => '')));
  return targets.filter((t) => t.startsWith(dir));
}

/** A writer whose final fsync fails, as after a failed background fdatasync or an EIO at fsync. */
class FailingSyncWriter extends CoalescingWriter {
  override async sync(): Promise<void> {
    throw Object.assign(new Error('input/output error at fsync'), { code: 'EIO' });
  }
}

function request(log: Buffer) {
  return { offset: 0, uploadId: 'ab'.repeat(16), primaryServerName: 'a.b.c', totalLength: log.length };
}

describe('full copy staged while it arrives', () => {
  it('is invisible until the log is verified and applied, then equals applying the log', async () => {
    const { dir, root, storage } = await setup();
    try {
      const receiver = new LogReceiver(consumerOf(storage), { maxLogBytes: 64 * MiB });
      const model = new DiskModel();
      const empty = await latestHash(storage, DISKS[0]!.diskId);
      for (const disk of DISKS) {
        const records = randomRecords(disk.virtualSize, 16);
        const log = await encode(disk.diskId, INITIAL, records);
        const key = { vmId: VM_ID, diskId: disk.diskId, generation: 1, sequence: 0 };
        await receiver.receive(root, key, request(log), stream(log));
        model.apply(disk.diskId, records);
        const cycle = (await state(root)).pending[0]!;
        assert.ok(cycle.staged?.[disk.diskId], 'the stored cycle names the staged disk of the log');
      }
      // Stored and complete, not applied yet: the replica still shows the empty base.
      assert.equal(await latestHash(storage, DISKS[0]!.diskId), empty);
      const bases = DISKS.map((d) => join(root, 'disks', `${d.diskId}.vhdx`));
      const before = await Promise.all(bases.map(async (b) => (await stat(b)).ino));
      await storage.applyPending();
      for (const disk of DISKS) assert.equal(await latestHash(storage, disk.diskId), model.hashes()[disk.diskId]);
      const after = await Promise.all(bases.map(async (b) => (await stat(b)).ino));
      assert.ok(after.every((ino, i) => ino !== before[i]), 'each staged disk became its base (renamed, not applied again)');
      assert.deepEqual(await readdir(join(root, 'incoming')), [], 'logs and staged disks are gone once applied');
    } finally {
      dir.cleanup();
    }
  });

  it('never stages a version 1 full copy (an earlier primary\'s): it is stored whole and applies from the stored log', async () => {
    const { dir, root, storage } = await setup();
    try {
      const receiver = new LogReceiver(consumerOf(storage), { maxLogBytes: 64 * MiB });
      const model = new DiskModel();
      for (const disk of DISKS) {
        const records = randomRecords(disk.virtualSize, 16);
        const log = asVersion1(await encode(disk.diskId, INITIAL, records));
        const key = { vmId: VM_ID, diskId: disk.diskId, generation: 1, sequence: 0 };
        const status = await receiver.receive(root, key, request(log), stream(log));
        assert.equal(status.Accepted, true);
        model.apply(disk.diskId, records);
        const cycle = (await state(root)).pending[0]!;
        assert.equal(cycle.staged?.[disk.diskId], undefined, 'no staged disk for a version 1 log');
        assert.ok(!cycle.hollow?.includes(disk.diskId), 'not stored hollow: its whole-log hash covers the payloads');
      }
      await storage.applyPending();
      for (const disk of DISKS) assert.equal(await latestHash(storage, disk.diskId), model.hashes()[disk.diskId]);
    } finally {
      dir.cleanup();
    }
  });

  it('drops the staged disk of a log whose last record is damaged; nothing reaches the replica', async () => {
    const { dir, root, storage } = await setup();
    try {
      const receiver = new LogReceiver(consumerOf(storage), { maxLogBytes: 64 * MiB });
      const disk = DISKS[0]!;
      const empty = await latestHash(storage, disk.diskId);
      const log = await encode(disk.diskId, INITIAL, randomRecords(disk.virtualSize, 16).map((r) => (r.type === 'data' ? r : { type: 'data' as const, offset: r.offset, data: Buffer.alloc(r.length, 7) })));
      const damaged = Buffer.from(log);
      const at = damaged.length - 64 - 56 - 100;
      damaged[at] = damaged[at]! ^ 0x10;
      const key = { vmId: VM_ID, diskId: disk.diskId, generation: 1, sequence: 0 };
      await assert.rejects(receiver.receive(root, key, request(damaged), stream(damaged)), (e: { code: string }) => e.code === 'ERR_LOG_CHECKSUM');
      assert.deepEqual(await readdir(join(root, 'staging')), [], 'the staged disk is deleted');
      assert.deepEqual((await state(root)).pending, []);
      await storage.applyPending();
      assert.equal(await latestHash(storage, disk.diskId), empty);
    } finally {
      dir.cleanup();
    }
  });

  it('applies the log, not the staged disk, when the base is not empty any more', async () => {
    const { dir, root, storage } = await setup();
    try {
      const receiver = new LogReceiver(consumerOf(storage), { maxLogBytes: 64 * MiB });
      const model = new DiskModel();
      const disk = DISKS[1]!;
      const records = randomRecords(disk.virtualSize, 8);
      const log = await encode(disk.diskId, INITIAL, records);
      await receiver.receive(root, { vmId: VM_ID, diskId: disk.diskId, generation: 1, sequence: 0 }, request(log), stream(log));
      // Something wrote into the base after the log was staged: only applying the log keeps it right.
      const stray = { type: 'data' as const, offset: disk.virtualSize - MiB, data: Buffer.alloc(MiB, 0x5a) };
      const base = await openDisk(join(root, 'disks', `${disk.diskId}.vhdx`), { writable: true });
      await base.write(stray.offset, stray.data);
      await base.close();
      model.apply(disk.diskId, [stray, ...records]);
      for (const other of DISKS.filter((d) => d !== disk)) {
        const otherLog = await encode(other.diskId, INITIAL, []);
        await receiver.receive(root, { vmId: VM_ID, diskId: other.diskId, generation: 1, sequence: 0 }, request(otherLog), stream(otherLog));
      }
      await storage.applyPending();
      assert.equal(await latestHash(storage, disk.diskId), model.hashes()[disk.diskId]);
    } finally {
      dir.cleanup();
    }
  });

  it('drops the staged disk and closes its handles when the final fsync of the received log fails', async () => {
    const { dir, root, storage } = await setup();
    try {
      const failing = new LogReceiver(consumerOf(storage), { maxLogBytes: 64 * MiB }, { writer: (handle, offset) => new FailingSyncWriter(handle, offset) });
      const disk = DISKS[0]!;
      const records = randomRecords(disk.virtualSize, 16);
      const log = await encode(disk.diskId, INITIAL, records);
      const key = { vmId: VM_ID, diskId: disk.diskId, generation: 1, sequence: 0 };
      await assert.rejects(failing.receive(root, key, request(log), stream(log)), /input\/output error at fsync/);
      assert.deepEqual(await readdir(join(root, 'staging')), [], 'the staged disk is deleted');
      assert.deepEqual(await openFilesUnder(join(root, 'staging')), [], 'no handle of the staged disk stays open');
      assert.deepEqual((await state(root)).pending, []);
      // The next attempt stages and stores as usual.
      const receiver = new LogReceiver(consumerOf(storage), { maxLogBytes: 64 * MiB });
      await receiver.receive(root, key, request(log), stream(log));
      assert.ok((await state(root)).pending[0]?.staged?.[disk.diskId]);
    } finally {
      dir.cleanup();
    }
  });

  it('refuses a streamed log over the limit at once, naming the option; nothing of it stays', async () => {
    const { dir, root, storage } = await setup();
    try {
      const disk = DISKS[0]!;
      const log = await encode(disk.diskId, INITIAL, randomRecords(disk.virtualSize, 16));
      const limit = Math.floor(log.length / 2);
      const receiver = new LogReceiver(consumerOf(storage), { maxLogBytes: limit });
      const key = { vmId: VM_ID, diskId: disk.diskId, generation: 1, sequence: 0 };
      const streamed = { offset: 0, uploadId: 'cd'.repeat(16), primaryServerName: 'a.b.c' };
      await assert.rejects(receiver.receive(root, key, streamed, stream(log)), (e: { code: string; message: string }) => e.code === 'ERR_INVALID_ARGUMENT' && /hvreplica server run --max-log-bytes/.test(e.message) && e.message.includes(String(limit)));
      assert.deepEqual(await readdir(join(root, 'uploads', disk.diskId)), [], 'the partial upload is deleted');
      assert.deepEqual(await readdir(join(root, 'staging')).catch(() => []), [], 'no staged disk stays');
      assert.deepEqual(await openFilesUnder(root), []);
    } finally {
      dir.cleanup();
    }
  });

  it('a server start removes staging disks of a crashed attempt, and keeps and applies a stored cycle\'s staged disks', async () => {
    const { dir, root, storage } = await setup();
    try {
      const receiver = new LogReceiver(consumerOf(storage), { maxLogBytes: 64 * MiB });
      const model = new DiskModel();
      for (const disk of DISKS) {
        const records = randomRecords(disk.virtualSize, 8);
        const log = await encode(disk.diskId, INITIAL, records);
        await receiver.receive(root, { vmId: VM_ID, diskId: disk.diskId, generation: 1, sequence: 0 }, request(log), stream(log));
        model.apply(disk.diskId, records);
      }
      // What a server that crashed during a full copy leaves behind: a staging disk nobody will hand over.
      const debris = join(root, 'staging', `${DISKS[0]!.diskId}-2-0.vhdx`);
      await mkdir(join(root, 'staging'), { recursive: true });
      await writeFile(debris, Buffer.alloc(MiB, 1));
      const bases = DISKS.map((d) => join(root, 'disks', `${d.diskId}.vhdx`));
      const before = await Promise.all(bases.map(async (b) => (await stat(b)).ino));

      await new ReplicaVms().openExisting([root]);

      assert.deepEqual(await readdir(join(root, 'staging')).catch(() => []), [], 'the crashed attempt\'s staging disk is gone');
      assert.deepEqual((await state(root)).pending, [], 'the stored cycle was applied');
      const after = await Promise.all(bases.map(async (b) => (await stat(b)).ino));
      assert.ok(after.every((ino, i) => ino !== before[i]), 'each staged disk of the stored cycle became its base');
      for (const disk of DISKS) assert.equal(await latestHash(storage, disk.diskId), model.hashes()[disk.diskId]);
    } finally {
      dir.cleanup();
    }
  });
});
