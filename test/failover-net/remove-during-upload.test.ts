/**
 * Remove-VMReplication on the replica server while the server is receiving a log of that VM into a partial
 * file (src/replica/upload-marks.ts, refusal-watch.ts), over loopback with the real server: the removal writes
 * its tombstone, the server ends the upload that streams (the primary is told ERR_REPLICATION_REMOVED), and
 * only then is the folder deleted, so no partial log is left and, on Windows, no open file is in the way. An
 * upload that does not end within the removal's wait stops the removal with what to do; run again, it finishes.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { removeReplica } from '../../src/failover/remove-replica.js';
import { FailoverSite } from '../../src/failover/site.js';
import { FileHost } from '../../src/host/file/file-host.js';
import { RemovedRelationships } from '../../src/replica/removed-relationships.js';
import { uploadMarksDir, uploadsInFlight } from '../../src/replica/upload-marks.js';
import { TransportError } from '../../src/transport/errors.js';
import { MiB, TwoHosts } from '../e2e/harness.js';
import { cycle, ok, vmHashes } from './helpers.js';
import { feed, nothingLeft, openUpload, partialWritten } from './uploads.js';

const REMOVED = /replication of VM 'vm1' was removed on replica server replica\.e2e\.test .*remove the relationship too/;

function assertRemovedRefusal(outcome: unknown): void {
  assert.ok(outcome instanceof TransportError, `the upload ended with ${String(outcome)}`);
  assert.equal(outcome.code, 'ERR_REPLICATION_REMOVED');
  assert.equal(outcome.status, 409);
  assert.match(outcome.message, REMOVED);
}

describe('replication remove while the replica server receives an upload', () => {
  it('ends the streaming upload with ERR_REPLICATION_REMOVED, then removes: no partial left, the VM kept', async () => {
    const hosts = await TwoHosts.create({ disks: [4 * MiB], recoveryHistory: 4 });
    let feeding: NodeJS.Timeout | undefined;
    try {
      await hosts.startServer();
      await hosts.workload(['--seed=21', '--bytes=1MiB']);
      const initial = await cycle(hosts);
      const want = hosts.expected.get(initial.ReferencePoint)!;
      const upload = await openUpload(hosts);
      // The primary streams the log slowly: a piece every few milliseconds, never all of it before the removal.
      const streaming = feed(upload, 0);
      feeding = streaming.timer;
      await partialWritten(hosts);

      const [removed] = await ok(hosts, 'replica', 'replication', 'remove', '--vm-name=vm1');
      assert.equal(removed!.VMName, 'vm1');
      assertRemovedRefusal(await upload.ended);
      assert.ok(streaming.sent() < upload.log.length, 'the upload was ended before its log was complete');
      await nothingLeft(hosts);
      const kept = await new FileHost({ root: join(hosts.replicaState, 'vms') }).getVm('vm1');
      assert.deepEqual([kept.isReplica, kept.state], [false, 'off']);
      assert.deepEqual(await vmHashes(hosts.replicaState, 'vm1'), want, 'the VM is kept at the last acknowledged cycle');
      upload.client.destroy();
    } finally {
      clearInterval(feeding);
      await hosts.dispose();
    }
  });

  it('an upload that does not end within the wait stops the removal after its tombstone; run again once it ended, it finishes', async () => {
    const hosts = await TwoHosts.create({ disks: [4 * MiB], recoveryHistory: 4 });
    try {
      await hosts.startServer();
      await hosts.workload(['--seed=22', '--bytes=1MiB']);
      await cycle(hosts);
      const upload = await openUpload(hosts);
      upload.body.push(upload.log.subarray(0, MiB));
      // Then nothing: the primary stalls (its read is slow), and the server waits for the rest.
      await partialWritten(hosts);

      const site = new FailoverSite({ name: 'replica.e2e.test', stateDir: hosts.replicaState });
      await assert.rejects(removeReplica(site, hosts.vmId, { uploadWaitMs: 300 }), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_BUSY');
        assert.match(error.message, /still receiving an upload of VM 'vm1' from primary\.e2e\.test: disk [0-9a-f-]+ cycle 1\/1 \(process \d+, since .*Run the removal again to finish it \(hvreplica replication remove --vm-name vm1/);
        return true;
      });
      assert.equal((await new RemovedRelationships(hosts.replicaState).list(hosts.vmId)).length, 1, 'the tombstone is written: the relationship is removed');
      assert.ok(existsSync(hosts.replicaDir), 'and nothing in the folder went under the upload');
      // The primary's next request is refused already.
      assert.equal((await hosts.replicate()).json.error?.code, 'ERR_REPLICATION_REMOVED');

      // The stalled primary streams again: the server has ended the upload with the refusal once it saw the
      // tombstone (a stalled body too: refusal-watch.ts gives up the chunk it waits for).
      const feeding = feed(upload, MiB);
      try {
        assertRemovedRefusal(await upload.ended);
      } finally {
        clearInterval(feeding.timer);
      }
      upload.client.destroy();
      const [removed] = await ok(hosts, 'replica', 'replication', 'remove', '--vm-name=vm1');
      assert.equal(removed!.VMName, 'vm1');
      await nothingLeft(hosts);
      assert.deepEqual(await ok(hosts, 'replica', 'replication', 'get', '--vm-name=*'), []);
    } finally {
      await hosts.dispose();
    }
  });
  it('a mark left by a server that crashed, whose process id another process has now, goes when the server starts again', async () => {
    const hosts = await TwoHosts.create({ disks: [4 * MiB], recoveryHistory: 4 });
    try {
      const server = await hosts.startServer();
      await hosts.workload(['--seed=23', '--bytes=1MiB']);
      await cycle(hosts);
      // The server crashed during an upload; its process id is now this test's (alive, and no upload). The
      // server is stopped cleanly and the crash's mark planted: a SIGKILL here would also leave whatever file
      // lock its background apply of the cycle held (broken only after 30 s), which is not what this tests.
      assert.equal(await server.stop(), 0);
      const marks = uploadMarksDir(hosts.replicaDir);
      await mkdir(marks, { recursive: true });
      await writeFile(join(marks, `${process.pid}-0123456789abcdef.json`), JSON.stringify({ pid: process.pid, upload: 'disk 1 cycle 1/1', since: new Date().toISOString() }));
      assert.equal((await uploadsInFlight(hosts.replicaDir)).length, 1, 'by its process id alone the mark looks alive');

      // The removal's advice: restart the replica server. Started again, it forgets the marks of processes before it.
      await hosts.startServer();
      assert.deepEqual(await uploadsInFlight(hosts.replicaDir), [], 'the restarted server dropped the mark of the crashed one');
      const site = new FailoverSite({ name: 'replica.e2e.test', stateDir: hosts.replicaState });
      const { kept } = await removeReplica(site, hosts.vmId, { uploadWaitMs: 300 });
      assert.ok(kept, 'the removal went through, keeping the VM');
      await nothingLeft(hosts);
    } finally {
      await hosts.dispose();
    }
  });
});
