/**
 * A full replica volume: a small tmpfs is mounted for the storage (needs root; the test says so and is
 * reported as skipped, never silently passed, when it cannot mount).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import type { LogRecordInput } from '../../src/protocol/log-encoder.js';
import { createVhdxReplicaStorage, openVhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { DISKS, DiskModel, encode, MiB, readAll, sha, stream, VM_ID } from './fixtures.js';

const canMount = process.getuid?.() === 0;

function freeBytes(path: string): number {
  const out = execFileSync('df', ['-B1', '--output=avail', path], { encoding: 'utf8' });
  return Number(out.trim().split('\n').at(-1));
}

it('a full volume gives ERR_DISK_FULL and leaves the previous state intact', { skip: canMount ? false : 'mounting a tmpfs needs root' }, async () => {
  const mountPoint = mkdtempSync(join(tmpdir(), 'hvr-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mountPoint]);
  try {
    const root = join(mountPoint, VM_ID);
    const storage = await createVhdxReplicaStorage(root, { vmId: VM_ID, disks: DISKS, blockSize: MiB });
    const model = new DiskModel();
    const initial = { generation: 1, sequence: 0, base: '', next: 'rp-0' };
    for (const d of DISKS) {
      const recs: LogRecordInput[] = [{ type: 'data', offset: 0, data: randomBytes(MiB) }];
      await storage.receive(stream(await encode(d.diskId, initial, recs)));
      model.apply(d.diskId, recs);
    }
    await storage.applyPending();
    const point = await storage.seal();
    assert.ok(point);
    const before = model.hashes();

    // 1. A log larger than the free space is refused while being received; nothing is stored.
    const big = await encode(DISKS[0]!.diskId, { generation: 1, sequence: 1, base: 'rp-0', next: 'rp-1' }, [{ type: 'data', offset: 0, data: randomBytes(8 * MiB) }]);
    writeFileSync(join(mountPoint, 'filler'), Buffer.alloc(Math.max(0, freeBytes(mountPoint) - 4 * MiB)));
    await assert.rejects(storage.receive(stream(big)), (error: { code?: string; message: string }) => error.code === 'ERR_DISK_FULL' && /free space/.test(error.message));
    assert.deepEqual((await storage.status()).pending, []);
    assert.deepEqual((await readdir(join(root, 'incoming'))).filter((n) => !n.startsWith('.')), []);

    // 2. Logs that fit, but applying them does not: the position stays, the logs stay for a retry.
    await rm(join(mountPoint, 'filler'));
    const spec = { generation: 1, sequence: 1, base: 'rp-0', next: 'rp-1' };
    const recs = new Map(DISKS.map((d) => [d.diskId, [{ type: 'data' as const, offset: 2 * MiB, data: randomBytes(2 * MiB) }]]));
    for (const d of DISKS) await storage.receive(stream(await encode(d.diskId, spec, recs.get(d.diskId)!)));
    writeFileSync(join(mountPoint, 'filler'), Buffer.alloc(Math.max(0, freeBytes(mountPoint) - MiB)));
    await assert.rejects(storage.applyPending(), (error: { code?: string }) => error.code === 'ERR_DISK_FULL');
    const status = await storage.status();
    assert.equal(status.position?.sequence, 0);
    assert.equal(status.pending.length, 1);
    // The top layer may hold part of the interrupted apply; the sealed point below must be untouched.
    for (const d of DISKS) {
      const disk = await storage.openRecoveryPoint(point!.id, d.diskId);
      assert.equal(sha(await readAll(disk)), before[d.diskId]);
      await disk.close();
    }

    // 3. With space back, a restart finishes the apply and the content is exact.
    await rm(join(mountPoint, 'filler'));
    const reopened = await openVhdxReplicaStorage(root);
    assert.equal((await reopened.applyPending()).applied.length, 1);
    for (const d of DISKS) model.apply(d.diskId, recs.get(d.diskId)!);
    for (const d of DISKS) {
      const disk = await reopened.openLatest(d.diskId);
      assert.equal(sha(await readAll(disk)), model.hashes()[d.diskId]);
      await disk.close();
    }
    assert.notDeepEqual(before, model.hashes());
  } finally {
    execFileSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  }
});
