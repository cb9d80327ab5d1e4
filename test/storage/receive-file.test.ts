/**
 * receiveFile: the replica server's received upload becomes the incoming log by a hard link, not a copy
 * (one write of the log's bytes on the replica instead of two), with the same guarantees as receive.
 */
import assert from 'node:assert/strict';
import { link, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verifyLog } from '../../src/protocol/log-decoder.js';
import type { StoredState } from '../../src/storage/replica-state.js';
import { createVhdxReplicaStorage, openVhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { tempDir } from '../helpers/paths.js';
import { DISKS, DiskModel, encode, ManualClock, randomRecords, readAll, sha, stream, VM_ID } from './fixtures.js';

const INITIAL = { generation: 1, sequence: 0, base: '', next: 'rp-0' };

async function setup() {
  const dir = tempDir('receive-file');
  const root = join(dir.path, VM_ID);
  const clock = new ManualClock();
  const storage = await createVhdxReplicaStorage(root, { vmId: VM_ID, disks: DISKS, blockSize: 1024 * 1024, clock: clock.read });
  return { dir, root, clock, storage };
}

async function pendingLogPath(root: string, diskId: string): Promise<string> {
  const state = JSON.parse(await readFile(join(root, 'state.json'), 'utf8')) as StoredState;
  const cycle = state.pending[0]!;
  return join(root, 'incoming', `${cycle.generation}-${cycle.sequence}`, cycle.logs[diskId]!);
}

describe('VhdxReplicaStorage.receiveFile', () => {
  it('links the received file into incoming/ (same inode, no copy) and applies it exactly', async () => {
    const { dir, root, storage } = await setup();
    try {
      const model = new DiskModel();
      for (const disk of DISKS) {
        const records = randomRecords(disk.virtualSize, 12);
        const log = await encode(disk.diskId, INITIAL, records);
        // Where the server's receiver keeps an upload: on the same volume, under the VM's folder.
        const received = join(root, `${disk.diskId}.received`);
        await writeFile(received, log);
        const { header } = await verifyLog(stream(log));
        await storage.receiveFile(received, header);
        model.apply(disk.diskId, records);
        const kept = await stat(await pendingLogPath(root, disk.diskId));
        const source = await stat(received);
        assert.equal(kept.ino, source.ino, 'the incoming log is the received file itself');
        assert.equal(source.nlink, 2, 'one name for the receiver, one for the storage');
        assert.deepEqual(await readFile(received), log, 'the receiver’s file is left unchanged');
      }
      const result = await storage.applyPending();
      assert.equal(result.applied.length, 1);
      for (const disk of DISKS) {
        const opened = await storage.openLatest(disk.diskId);
        try {
          assert.equal(sha(await readAll(opened)), model.hashes()[disk.diskId]);
        } finally {
          await opened.close();
        }
        // Applied logs go; the receiver's own name is all that is left of the inode.
        assert.equal((await stat(join(root, `${disk.diskId}.received`))).nlink, 1);
      }
    } finally {
      dir.cleanup();
    }
  });

  it('verifies the file itself when no verified header is given, and refuses a corrupt one without storing it', async () => {
    const { dir, root, storage } = await setup();
    try {
      const disk = DISKS[0]!;
      const log = await encode(disk.diskId, INITIAL, randomRecords(disk.virtualSize, 4));
      log[log.length >> 1] ^= 0x01;
      const received = join(root, 'corrupt.received');
      await writeFile(received, log);
      await assert.rejects(storage.receiveFile(received), (error: { code?: string }) => typeof error.code === 'string' && error.code.startsWith('ERR_LOG_'));
      assert.equal((await storage.status()).pending.length, 0);
      assert.deepEqual(await readdir(join(root, 'incoming')), [], 'no temporary link is left behind');
      assert.equal((await stat(received)).nlink, 1);
    } finally {
      dir.cleanup();
    }
  });

  it('recovers from a crash between the link and the state update: the stray link goes, the received file stays and is taken again', async () => {
    const { dir, root, clock } = await setup();
    try {
      const disk = DISKS[0]!;
      const records = randomRecords(disk.virtualSize, 8);
      const log = await encode(disk.diskId, INITIAL, records);
      const received = join(root, 'upload.received');
      await writeFile(received, log);
      // The crash: both links exist (the temporary one and the one under the cycle's folder), the state
      // names neither.
      await link(received, join(root, 'incoming', '.receive-crashed.tmp'));
      await mkdir(join(root, 'incoming', '1-0'), { recursive: true });
      await link(received, join(root, 'incoming', '1-0', `${disk.diskId}.deadbeef.hvrlog`));
      assert.equal((await stat(received)).nlink, 3);

      const reopened = await openVhdxReplicaStorage(root, { clock: clock.read });
      assert.equal((await reopened.status()).pending.length, 0);
      assert.deepEqual(await readdir(join(root, 'incoming')), [], 'what the state does not name is removed');
      assert.equal((await stat(received)).nlink, 1, 'only the stray names went, the received bytes are intact');
      assert.deepEqual(await readFile(received), log);

      // The receiver hands the same file over again (it still holds it complete): stored and applied.
      const model = new DiskModel();
      model.apply(disk.diskId, records);
      const { header } = await verifyLog(stream(log));
      await reopened.receiveFile(received, header);
      for (const other of DISKS.slice(1)) await reopened.receive(stream(await encode(other.diskId, INITIAL, [])));
      assert.equal((await reopened.applyPending()).applied.length, 1);
      const opened = await reopened.openLatest(disk.diskId);
      try {
        assert.equal(sha(await readAll(opened)), model.hashes()[disk.diskId]);
      } finally {
        await opened.close();
      }
    } finally {
      dir.cleanup();
    }
  });
});
