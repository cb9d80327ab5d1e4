/**
 * What lets Remove-VMReplication delete a replica's folder only once no upload writes into it: the marks of
 * uploads in flight (src/replica/upload-marks.ts), the watch that ends an upload's body once its relationship
 * is removed (refusal-watch.ts), and the replica server refusing an upload admitted just before a removal
 * before it writes a byte (replica-service.ts). Over the network with the removal: test/failover-net/remove-during-upload.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { processStartIdentity } from '../../src/native/process-start.js';
import { ReplicaError } from '../../src/replica/errors.js';
import { RefusalWatch } from '../../src/replica/refusal-watch.js';
import { RemovedRelationships } from '../../src/replica/removed-relationships.js';
import { ReplicaService } from '../../src/replica/replica-service.js';
import { ReplicaVms } from '../../src/replica/replica-vms.js';
import { dropMarksOfEarlierServers, dropUploadMarks, uploadMarksDir, uploadsInFlight, waitForUploads, withUploadMark } from '../../src/replica/upload-marks.js';
import { VmRegistry } from '../../src/replica/vm-registry.js';
import { liveStranger, startOfExitedProcess, stopStranger } from './reused-pid.js';

// A test below forces collections to see what the refusal watch keeps.
setFlagsFromString('--expose-gc');

const VM = '6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5c';
const DISK = 'aaaaaaaa-bbbb-4ccc-8ddd-000000000042';
const RELATIONSHIP = 'c'.repeat(32);

async function withDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'hvr-upload-marks-'));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The id of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid!;
}

describe('uploads in flight', () => {
  it('are marked while they run, waited for, and reported when they outlast the wait; marks of dead processes are dropped', () =>
    withDir(async (dir) => {
      const folder = join(dir, 'hvreplica', VM);
      await mkdir(uploadMarksDir(folder), { recursive: true });
      const gone = deadPid();
      await writeFile(join(uploadMarksDir(folder), `${gone}-0000.json`), JSON.stringify({ pid: gone, upload: 'left by a crash', since: 'then' }));
      assert.deepEqual(await uploadsInFlight(folder), [], 'a crashed server\'s mark is no upload');
      assert.deepEqual(await readdir(uploadMarksDir(folder)), [], 'and is deleted');

      let release!: () => void;
      const running = withUploadMark(folder, `disk ${DISK} cycle 1/7`, () => new Promise<void>((done) => (release = done)));
      await new Promise((resolve) => setImmediate(resolve));
      while ((await uploadsInFlight(folder)).length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const outlasting = await waitForUploads(folder, 50, 10);
      assert.deepEqual(outlasting.map((m) => [m.pid, m.upload]), [[process.pid, `disk ${DISK} cycle 1/7`]]);
      const waiting = waitForUploads(folder, 60_000, 10);
      release();
      await running;
      assert.deepEqual(await waiting, [], 'the wait ends with the upload');
      assert.ok(!existsSync(uploadMarksDir(folder)), 'and the marks\' folder goes');
      // An upload after that makes it again.
      await withUploadMark(folder, 'next', async () => assert.equal((await uploadsInFlight(folder)).length, 1));
    }));

  it('a mark whose process id now names an unrelated live process is not waited for; one of an earlier version naming the id only is, as before', () =>
    withDir(async (dir) => {
      const folder = join(dir, 'hvreplica', VM);
      await mkdir(uploadMarksDir(folder), { recursive: true });
      const exited = await startOfExitedProcess();
      const stranger = await liveStranger(exited);
      try {
        // Left by a server that crashed; after a reboot its id names another process.
        const reused = join(uploadMarksDir(folder), `${stranger.pid}-00000000000000aa.json`);
        await writeFile(reused, JSON.stringify({ pid: stranger.pid, start: exited, upload: 'left by a crash', since: 'then' }));
        assert.deepEqual(await waitForUploads(folder, 60_000, 10), [], 'a removal or a completed failover does not wait for it');
        assert.ok(!existsSync(uploadMarksDir(folder)), 'it is deleted with the marks\' folder');

        await mkdir(uploadMarksDir(folder), { recursive: true });
        await writeFile(join(uploadMarksDir(folder), `${stranger.pid}-00000000000000bb.json`), JSON.stringify({ pid: stranger.pid, upload: 'of an earlier version', since: 'then' }));
        assert.deepEqual((await uploadsInFlight(folder)).map((m) => m.upload), ['of an earlier version'], 'its process may be the server still uploading');
        await stopStranger(stranger);
        assert.deepEqual(await uploadsInFlight(folder), [], 'gone with its process');
      } finally {
        await stopStranger(stranger);
      }
    }));

  it('a mark names its process by id and start', () =>
    withDir(async (dir) => {
      const folder = join(dir, 'hvreplica', VM);
      const marks = await withUploadMark(folder, 'this one', () => uploadsInFlight(folder));
      assert.deepEqual(marks.map((m) => [m.pid, m.start]), [[process.pid, processStartIdentity(process.pid)]]);
    }));

  it('the marks\' folder of a deleted storage folder goes once no upload holds a mark there (Complete-VMFailover)', () =>
    withDir(async (dir) => {
      const folder = join(dir, 'hvreplica', VM);
      await dropUploadMarks(folder);
      assert.ok(!existsSync(uploadMarksDir(folder)), 'none there: nothing to do');
      let release!: () => void;
      const running = withUploadMark(folder, 'still running', () => new Promise<void>((done) => (release = done)));
      while ((await uploadsInFlight(folder)).length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      await dropUploadMarks(folder);
      assert.equal((await uploadsInFlight(folder)).length, 1, 'an upload\'s mark stays while it runs');
      release();
      await running;
      await dropUploadMarks(folder);
      assert.ok(!existsSync(uploadMarksDir(folder)), 'then the folder goes');
    }));

  it('a server starting drops the marks of earlier servers, even one under its own process id, and keeps its own', () =>
    withDir(async (dir) => {
      const folder = join(dir, 'hvreplica', VM);
      await mkdir(uploadMarksDir(folder), { recursive: true });
      // Left by a crashed server whose process id this process has now (so it looks alive).
      await writeFile(join(uploadMarksDir(folder), `${process.pid}-00000000000000ff.json`), JSON.stringify({ pid: process.pid, upload: 'left by a crash', since: 'then' }));
      let release!: () => void;
      const running = withUploadMark(folder, 'ours', () => new Promise<void>((done) => (release = done)));
      while ((await uploadsInFlight(folder)).length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
      await dropMarksOfEarlierServers([folder, join(dir, 'hvreplica', 'no-such-folder')]);
      assert.deepEqual((await uploadsInFlight(folder)).map((m) => m.upload), ['ours']);
      release();
      await running;
    }));

  it('an upload\'s body ends with the removal\'s refusal at the first chunk asked for after the removal was seen', async () => {
    const refusal = new ReplicaError('ERR_REPLICATION_REMOVED', 'replication of VM \'web1\' was removed');
    let removed = false;
    const watch = new RefusalWatch(async () => (removed ? refusal : undefined), 5);
    async function* endless(): AsyncGenerator<Buffer> {
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        yield Buffer.alloc(16);
      }
    }
    let chunks = 0;
    try {
      await assert.rejects(
        (async () => {
          for await (const chunk of watch.guard(endless())) {
            chunks += 1;
            assert.equal(chunk.length, 16);
            if (chunks === 3) removed = true;
          }
        })(),
        (error) => error === refusal,
      );
    } finally {
      watch.stop();
    }
    assert.ok(chunks >= 3, 'the body flowed until the removal');
  });

  it('an upload whose body stalls (its primary paused) ends with the refusal instead of waiting for a chunk that does not come', async () => {
    const refusal = new ReplicaError('ERR_INVALID_STATE', 'VM \'web1\' has failed over on replica replica.contoso.com');
    let refused = false;
    const watch = new RefusalWatch(async () => (refused ? refusal : undefined), 5);
    let sent = 0;
    const stalled: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: () => ({
        // Two chunks, then nothing ever again (a stream that stays open).
        next: () => (sent < 2 ? Promise.resolve({ done: false, value: Buffer.alloc(8, ++sent) }) : new Promise<IteratorResult<Buffer>>(() => undefined)),
      }),
    };
    const received: number[] = [];
    // The watch's timer does not hold the process (a server's open stream does): this test's loop is held here.
    const alive = setInterval(() => undefined, 1_000);
    try {
      const reading = (async () => {
        for await (const chunk of watch.guard(stalled)) {
          received.push(chunk[0]!);
          if (received.length === 2) refused = true;
        }
      })();
      await assert.rejects(reading, (error) => error === refusal);
    } finally {
      watch.stop();
      clearInterval(alive);
    }
    assert.deepEqual(received, [1, 2], 'what arrived before the refusal was handed on');
  });

  it('an upload\'s chunks are not kept by the watch once handed on (a whole initial copy stayed in memory)', async () => {
    const watch = new RefusalWatch(async () => undefined, 60_000);
    const handedOn: Array<WeakRef<Buffer>> = [];
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 64; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        yield Buffer.alloc(64 * 1024, i);
      }
    }
    try {
      for await (const chunk of watch.guard(chunks())) handedOn.push(new WeakRef(chunk));
    } finally {
      watch.stop();
    }
    // Collect everything unreachable, twice (a WeakRef's target is kept until the end of the turn it was read in).
    const collect = runInNewContext('gc') as () => void;
    for (let i = 0; i < 2; i++) {
      collect();
      await new Promise((resolve) => setImmediate(resolve));
    }
    collect();
    const kept = handedOn.filter((ref) => ref.deref() !== undefined).length;
    assert.ok(kept <= 2, `${kept} of ${handedOn.length} chunks handed on are still in memory`);
  });

  it('an upload admitted just before a removal is refused before it writes a byte', () =>
    withDir(async (stateDir) => {
      const storage = join(stateDir, 'storage');
      const entry = { AllowedPrimaryServer: 'primary.contoso.com', ReplicaStorageLocation: storage, TrustGroup: 'blue' };
      const registered = await new VmRegistry(stateDir).open(VM, entry, 'primary.contoso.com', { id: RELATIONSHIP, replace: true });
      // The removal's tombstone, written after the upload passed its admission.
      await new RemovedRelationships(stateDir).add(VM, {
        RelationshipId: RELATIONSHIP,
        VMName: 'web1',
        RelationshipType: 'Simple',
        PrimaryServerName: 'primary.contoso.com',
        ReplicaServerName: 'replica.contoso.com',
        RemovedAt: new Date().toISOString(),
        RegisteredAt: registered.CreatedAt,
      });
      const service = new ReplicaService(stateDir, new ReplicaVms(), { maxLogBytes: 1024 * 1024 });
      let read = false;
      async function* body(): AsyncGenerator<Buffer> {
        read = true;
        yield Buffer.alloc(1024);
      }
      const auth = { primaryServerName: 'primary.contoso.com', entry, relationshipId: RELATIONSHIP };
      await assert.rejects(
        service.upload(auth, { vmId: VM, diskId: DISK, generation: 1, sequence: 3 }, { offset: 0, uploadId: 'd'.repeat(32) }, body()),
        (error: Error & { code?: string }) => error.code === 'ERR_REPLICATION_REMOVED' && /replication of VM 'web1' was removed/.test(error.message),
      );
      assert.equal(read, false, 'its body was never read');
      assert.ok(!existsSync(join(registered.Path, 'uploads')), 'nothing was written into the replica\'s folder');
      assert.deepEqual(await uploadsInFlight(registered.Path), [], 'and its mark is gone');
    }));
});
