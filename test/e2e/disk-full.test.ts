/**
 * The replica's volume fills up (a small tmpfs as the storage location): the cycle fails cleanly with
 * ERR_DISK_FULL, the primary keeps its reference point and position, and once the volume is grown the
 * next cycle replicates everything. Mounting needs root, as CI has; elsewhere the test fails saying so.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { primaryStateFile } from '../../src/agent/paths.js';
import { runWorkload } from '../../src/host/file/workload.js';
import { MiB, TwoHosts } from './harness.js';

it('a full replica volume fails the cycle cleanly; replication recovers once space is freed', async (t) => {
  assert.equal(process.getuid?.(), 0, 'this test mounts a tmpfs and must run as root (CI does); run it with sudo');
  const volume = await mkdtemp(join(tmpdir(), 'hvr-small-volume-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', volume]);
  try {
    // The storage location lives on the small volume from the start.
    const other = await TwoHosts.create({ disks: [32 * MiB, 32 * MiB], storageLocation: volume });
    t.after(() => other.dispose());
    await other.startServer();
    await runWorkload(other.host, { vm: other.vmId, seed: 31, maxBytes: 2 * MiB });
    const initial = await other.replicate();
    assert.equal(initial.code, 0, JSON.stringify(initial.json));
    const state = async () => JSON.parse(await readFile(primaryStateFile(other.primaryState, other.vmId), 'utf8')) as { sequence: number; referencePoint: string };
    const before = await state();

    await runWorkload(other.host, { vm: other.vmId, seed: 32, maxBytes: 48 * MiB, hotFraction: 1, hotShare: 0, minSize: 512 * 1024, maxSize: 1024 * 1024, zeroShare: 0, trimShare: 0 });
    const full = await other.replicate();
    assert.notEqual(full.code, 0);
    assert.equal(full.json.error?.code, 'ERR_DISK_FULL', JSON.stringify(full.json) + other.server!.stderr.slice(-3000));
    assert.match(full.json.error!.message, /full/);
    assert.deepEqual(await state(), before, 'the primary keeps its reference point and position');
    assert.deepEqual((await other.host.getVm(other.vmId)).referencePoints.filter((p) => p.state === 'frozen'), [], 'the failed cycle left no frozen point behind');

    execFileSync('mount', ['-o', 'remount,size=256m', volume]);
    const recovered = await other.replicate();
    assert.equal(recovered.code, 0, JSON.stringify(recovered.json));
    assert.equal(recovered.cycle?.Sequence, 1);
    assert.equal(await other.server!.stop(), 0);
    await other.verifyReplica(recovered.cycle!.ReferencePoint);
  } finally {
    execFileSync('umount', ['-l', volume]);
    await rm(volume, { recursive: true, force: true });
  }
});
