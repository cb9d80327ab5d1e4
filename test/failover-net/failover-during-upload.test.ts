/**
 * Failover on the replica host while its replica server receives a log of the VM, with the real
 * `hvreplica server run` and the real CLI (the failover runs in another process than the server, as an
 * administrator's would): a log that began before Start-HvrVMFailover is never applied after it, its
 * upload is ended with the split-brain refusal (even one whose primary stopped sending), the primary keeps
 * its position (after a cancel it goes on from it), and Complete-HvrVMFailover deletes the replica's
 * folder only once no upload writes into it any more.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { completeFailover } from '../../src/failover/failover.js';
import { FailoverSite } from '../../src/failover/site.js';
import { storageLockFile, withStorageLock } from '../../src/replica/storage-lock.js';
import { uploadMarksDir, uploadsInFlight } from '../../src/replica/upload-marks.js';
import { TransportError } from '../../src/transport/errors.js';
import { cliChild, latestContent, MiB, TwoHosts } from '../e2e/harness.js';
import { cycle, ok, vmHashes } from './helpers.js';
import { nothingLeft, openUpload, partialWritten } from './uploads.js';

const FAILED_OVER = /VM 'vm1' has failed over on replica .* accepts no more changes from primary\.e2e\.test.*cancel the failover \(hvreplica failover stop --vm-name vm1\)/;

function assertFailedOverRefusal(outcome: unknown): void {
  assert.ok(outcome instanceof TransportError, `the upload ended with ${String(outcome)}`);
  assert.equal(outcome.code, 'ERR_INVALID_STATE');
  assert.equal(outcome.status, 409);
  assert.match(outcome.message, FAILED_OVER);
}

async function state(hosts: TwoHosts): Promise<unknown> {
  return (await ok(hosts, 'replica', 'replication', 'get', '--vm-name=vm1'))[0]!.ReplicationState;
}

/** Until the server's background apply of the last cycle is over (it holds the storage lock until then). */
async function applied(hosts: TwoHosts): Promise<void> {
  await latestContent(hosts.replicaDir);
}


function replicateChild(hosts: TwoHosts): ReturnType<typeof cliChild> {
  return cliChild(['replicate', '--vm=vm1', `--state-dir=${hosts.primaryState}`]);
}

describe('failover while the replica server receives a log of the VM', () => {
  it('Start-HvrVMFailover ends an upload that began before it, even a stalled one, with the split-brain refusal; Complete-HvrVMFailover leaves nothing of it', async () => {
    const hosts = await TwoHosts.create({ disks: [4 * MiB], recoveryHistory: 4 });
    try {
      await hosts.startServer();
      await hosts.workload(['--seed=41', '--bytes=1MiB']);
      const last = await cycle(hosts);
      const upload = await openUpload(hosts);
      // One MiB of the next log, then nothing: the primary stalls (paused, or its network froze).
      upload.body.push(upload.log.subarray(0, MiB));
      await partialWritten(hosts);

      const [failed] = await ok(hosts, 'replica', 'failover', 'start', '--vm-name=vm1');
      assert.equal(failed!.ReplicationState, 'FailedOverWaitingCompletion');
      // Not at the server's idle timeout, and not as a cut the primary would resume: refused, saying why.
      assertFailedOverRefusal(await upload.ended);
      assert.deepEqual(await vmHashes(hosts.replicaState, hosts.vmId), hosts.expected.get(last.ReferencePoint), 'the failed-over VM holds the last acknowledged cycle');

      await ok(hosts, 'replica', 'failover', 'complete', '--vm-name=vm1');
      assert.equal(await state(hosts), 'FailedOver');
      await nothingLeft(hosts);
      upload.client.destroy();
    } finally {
      await hosts.dispose();
    }
  });

  it('Complete-HvrVMFailover waits for an upload still in flight: past its wait it changes nothing and says so, run again it completes', async () => {
    const hosts = await TwoHosts.create({ disks: [4 * MiB], recoveryHistory: 4 });
    try {
      const server = await hosts.startServer();
      await hosts.workload(['--seed=42', '--bytes=1MiB']);
      const last = await cycle(hosts);
      await applied(hosts);
      const upload = await openUpload(hosts);
      upload.body.push(upload.log.subarray(0, MiB));
      await partialWritten(hosts);
      // The server is paused while it receives: its upload stays in flight whatever the failover does.
      server.child.kill('SIGSTOP');
      try {
        assert.ok(!existsSync(storageLockFile(hosts.replicaDir)), 'the paused server holds no storage lock (it only receives)');
        await ok(hosts, 'replica', 'failover', 'start', '--vm-name=vm1');
        const site = new FailoverSite({ name: 'replica.e2e.test', stateDir: hosts.replicaState });
        await assert.rejects(completeFailover(site, hosts.vmId, { uploadWaitMs: 300 }), (error: Error & { code?: string }) => {
          assert.equal(error.code, 'ERR_BUSY');
          assert.match(error.message, /still receiving an upload of VM 'vm1' that began before its failover: disk [0-9a-f-]+ cycle 1\/1 \(process \d+, since .*Nothing was changed.*hvreplica failover complete --vm-name vm1/);
          return true;
        });
        assert.equal(await state(hosts), 'FailedOverWaitingCompletion', 'the failover is still there to complete');
        assert.ok(existsSync(hosts.replicaDir), 'nothing in the replica\'s folder went under the upload');
      } finally {
        server.child.kill('SIGCONT');
      }
      // Running again, the server sees the failover and ends the upload; the completion waits for that.
      await ok(hosts, 'replica', 'failover', 'complete', '--vm-name=vm1');
      assert.deepEqual(await uploadsInFlight(hosts.replicaDir), [], 'no upload was in flight once the failover completed');
      assertFailedOverRefusal(await upload.ended);
      assert.equal(await state(hosts), 'FailedOver');
      assert.deepEqual(await vmHashes(hosts.replicaState, hosts.vmId), hosts.expected.get(last.ReferencePoint), 'the completed VM holds the last acknowledged cycle');
      await nothingLeft(hosts);
      upload.client.destroy();
    } finally {
      await hosts.dispose();
    }
  });

  it('a primary paused in the middle of a cycle is refused after the failover, keeps its position, and goes on from it once the failover is cancelled', async () => {
    const hosts = await TwoHosts.create({ disks: [64 * MiB], recoveryHistory: 4 });
    try {
      await hosts.startServer();
      await hosts.workload(['--seed=43', '--bytes=2MiB']);
      const before = await cycle(hosts);
      await applied(hosts);
      // The primary's next cycle is paused while its log is uploaded (tried again if a cycle was over first).
      let paused: ReturnType<typeof replicateChild> | undefined;
      for (let attempt = 1; attempt <= 5 && !paused; attempt += 1) {
        await hosts.workload([`--seed=${50 + attempt}`, '--bytes=48MiB']);
        const run = replicateChild(hosts);
        let exited = false;
        void run.result.then(() => (exited = true));
        while (!exited && (await readdir(uploadMarksDir(hosts.replicaDir)).catch(() => [] as string[])).length === 0) await new Promise((r) => setTimeout(r, 2));
        run.kill('SIGSTOP');
        if (!exited && (await uploadsInFlight(hosts.replicaDir)).length > 0 && !existsSync(storageLockFile(hosts.replicaDir))) paused = run;
        else {
          run.kill('SIGCONT');
          const done = await run.result;
          assert.equal(done.code, 0, JSON.stringify(done.json));
          await hosts.rememberPrimary((done.json.result as { ReferencePoint: string }).ReferencePoint);
          await applied(hosts);
        }
      }
      assert.ok(paused, 'a cycle was paused while its log was uploaded');
      const acknowledged = await latestContent(hosts.replicaDir);

      try {
        const [failed] = await ok(hosts, 'replica', 'failover', 'start', '--vm-name=vm1');
        assert.equal(failed!.ReplicationState, 'FailedOverWaitingCompletion');
        assert.deepEqual(await vmHashes(hosts.replicaState, hosts.vmId), hosts.expected.get(acknowledged.referencePoint), 'the failed-over VM holds the last acknowledged cycle, nothing of the paused one');
      } finally {
        paused.kill('SIGCONT');
      }
      const refused = await paused.result;
      assert.equal(refused.code, 4, JSON.stringify(refused.json));
      assert.equal(refused.json.error?.code, 'ERR_INVALID_STATE');
      assert.match(refused.json.error!.message, FAILED_OVER);
      assert.deepEqual((await latestContent(hosts.replicaDir)).hashes, acknowledged.hashes, 'nothing of the refused cycle was applied');

      // Cancelled, the replica goes on: the primary sends from the position it kept (no resync, no full copy).
      const [cancelled] = await ok(hosts, 'replica', 'failover', 'stop', '--vm-name=vm1');
      assert.equal(cancelled!.StoppedOperation, 'failover-cancelled');
      const next = await cycle(hosts);
      assert.equal(next.Kind, 'delta');
      assert.notEqual(next.ReferencePoint, before.ReferencePoint);
      await applied(hosts);
      assert.deepEqual((await latestContent(hosts.replicaDir)).hashes, hosts.expected.get(next.ReferencePoint), 'the replica equals the primary after the next cycle');
    } finally {
      await hosts.dispose();
    }
  });

  it('Stop-HvrVMFailover waits for another process that holds the replica storage, says so, and then cancels', async () => {
    const hosts = await TwoHosts.create({ disks: [4 * MiB], recoveryHistory: 4 });
    try {
      await hosts.startServer();
      await hosts.workload(['--seed=44', '--bytes=1MiB']);
      const last = await cycle(hosts);
      await ok(hosts, 'replica', 'failover', 'start', '--vm-name=vm1');
      let release!: () => void;
      let held!: () => void;
      const holding = new Promise<void>((resolve) => (held = resolve));
      // This test's process holds the storage as the replica server does while it applies a cycle.
      const lock = withStorageLock(hosts.replicaDir, 'test: applying a cycle', async () => {
        held();
        await new Promise<void>((resolve) => (release = resolve));
      });
      await holding;
      const stop = cliChild(['failover', 'stop', '--vm-name=vm1', `--state-dir=${hosts.replicaState}`]);
      try {
        while (!stop.stderr().includes('waiting for process')) await new Promise((r) => setTimeout(r, 20));
        assert.match(stop.stderr(), new RegExp(`waiting for process ${process.pid} \\(test: applying a cycle, since .*gives up with ERR_BUSY after 10 min`));
        assert.equal(await state(hosts), 'FailedOverWaitingCompletion', 'nothing was cancelled while the storage was held');
      } finally {
        release();
        await lock;
      }
      const stopped = await stop.result;
      assert.equal(stopped.code, 0, JSON.stringify(stopped.json));
      assert.equal((stopped.json.result as Array<Record<string, unknown>>)[0]!.StoppedOperation, 'failover-cancelled');
      assert.equal(await state(hosts), 'Replicating');
      await applied(hosts);
      assert.deepEqual((await latestContent(hosts.replicaDir)).hashes, hosts.expected.get(last.ReferencePoint));
    } finally {
      await hosts.dispose();
    }
  });
});
