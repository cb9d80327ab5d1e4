/**
 * `initial start` hands the copy to a background process and returns (Start-VMInitialReplication);
 * `replication measure` shows its progress as CurrentTask; `initial stop` cancels it in that other
 * process (nothing applied on the replica, no reference point left); a failed or killed background copy
 * shows as Error with the reason. The upload is slowed with --bandwidth-limit so that it is still running
 * when the test acts on it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readInitialProgress } from '../../src/agent/initial-progress.js';
import { processAlive } from '../../src/util/process-alive.js';
import { cycleLockFile, primaryStateFile } from '../../src/agent/paths.js';
import { runWorkload } from '../../src/host/file/workload.js';
import { openVhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { cli, MiB, TwoHosts } from './harness.js';

type Row = { ReplicationState: string; ReplicationHealth: string; ReplicationHealthDetails?: string[]; CurrentTask?: Array<{ Name: string; PercentComplete: number; BytesTransferred: number; BytesTotal: number | null }> };

async function measure(hosts: TwoHosts): Promise<Row> {
  const run = await cli(['replication', 'measure', '--vm-name=vm1', `--state-dir=${hosts.primaryState}`]);
  assert.equal(run.code, 0, JSON.stringify(run.json));
  return (run.json.result as Row[])[0]!;
}

/** Polls `replication measure` until `done` holds (the background process moves at its own pace). */
async function until(hosts: TwoHosts, what: string, done: (row: Row) => boolean, timeoutMs = 120_000): Promise<Row> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await measure(hosts);
    if (done(row)) return row;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(row)}`);
    await sleep(250);
  }
}

describe('initial replication in the background', () => {
  it('starts in the background, shows progress, is stopped from another process, then completes on a second start', async () => {
    const hosts = await TwoHosts.create({ disks: [24 * MiB] });
    try {
      await hosts.startServer();
      await runWorkload(hosts.host, { vm: hosts.vmId, seed: 61, maxBytes: 16 * MiB, minSize: MiB, maxSize: MiB });
      const started = await cli(['initial', 'start', '--vm-name=vm1', '--bandwidth-limit=1MB/s', `--state-dir=${hosts.primaryState}`]);
      assert.equal(started.code, 0, JSON.stringify(started.json));
      assert.equal((started.json.result as Row[])[0]!.ReplicationState, 'InitialReplicationInProgress');
      const running = await until(hosts, 'bytes on the wire', (row) => (row.CurrentTask?.[0]?.BytesTransferred ?? 0) > 0);
      assert.equal(running.ReplicationState, 'InitialReplicationInProgress');
      assert.equal(running.CurrentTask![0]!.Name, 'InitialReplication');
      const progress = await readInitialProgress(hosts.primaryState, hosts.vmId);
      assert.equal(progress?.Status, 'Running');
      assert.notEqual(progress?.Pid, undefined);
      const again = await cli(['initial', 'start', '--vm-name=vm1', `--state-dir=${hosts.primaryState}`]);
      assert.equal(again.json.error?.code, 'ERR_BUSY', 'a second start while the copy runs is refused');

      const stopped = await cli(['initial', 'stop', '--vm-name=vm1', `--state-dir=${hosts.primaryState}`]);
      assert.equal(stopped.code, 0, JSON.stringify(stopped.json));
      assert.equal((stopped.json.result as Row[])[0]!.ReplicationState, 'ReadyForInitialReplication');
      assert.equal(existsSync(cycleLockFile(hosts.primaryState, hosts.vmId)), false, 'the background process let go of the cycle lock');
      assert.equal((await readInitialProgress(hosts.primaryState, hosts.vmId))?.Status, 'Cancelled', 'the background process recorded the cancel before the stop returned');
      assert.equal(existsSync(primaryStateFile(hosts.primaryState, hosts.vmId)), false, 'nothing was acknowledged');
      assert.deepEqual((await hosts.host.getVm(hosts.vmId)).referencePoints, [], 'the cancelled copy left no reference point');
      for (let i = 0; i < 600 && processAlive(progress!.Pid); i += 1) await sleep(100);
      assert.equal(processAlive(progress!.Pid), false, 'the background process exited');
      assert.match(await readFile(progress!.LogFile!, 'utf8'), /"code":"ERR_CANCELLED"/, 'it ended because it was cancelled');
      assert.equal((await measure(hosts)).CurrentTask?.length, 0);

      assert.equal(await hosts.server!.stop(), 0);
      const replica = await openVhdxReplicaStorage(hosts.replicaDir);
      assert.deepEqual(await replica.listRecoveryPoints(), [], 'no recovery point of the cancelled copy');
      assert.equal((await replica.status()).position ?? null, null, 'nothing of the cancelled copy was applied');
      await hosts.startServer();

      const completed = await cli(['initial', 'start', '--vm-name=vm1', '--wait', `--state-dir=${hosts.primaryState}`]);
      assert.equal(completed.code, 0, JSON.stringify(completed.json));
      assert.equal((completed.json.result as Row[])[0]!.ReplicationState, 'Replicating');
      const state = JSON.parse(await readFile(primaryStateFile(hosts.primaryState, hosts.vmId), 'utf8')) as { referencePoint: string };
      await hosts.rememberPrimary(state.referencePoint);
      assert.equal((await readInitialProgress(hosts.primaryState, hosts.vmId))?.Status, 'Completed');
      assert.equal(await hosts.server!.stop(), 0);
      await hosts.verifyReplica(state.referencePoint);
    } finally {
      await hosts.dispose();
    }
  });

  it('a background copy that fails shows Error with the reason; a killed one is detected', async () => {
    const hosts = await TwoHosts.create({ disks: [24 * MiB] });
    try {
      await runWorkload(hosts.host, { vm: hosts.vmId, seed: 62, maxBytes: 16 * MiB, minSize: MiB, maxSize: MiB });
      // No replica server runs: the copy cannot connect.
      const started = await cli(['initial', 'start', '--vm-name=vm1', `--state-dir=${hosts.primaryState}`]);
      if (started.code === 0) {
        const failed = await until(hosts, 'the failure', (row) => row.ReplicationState === 'Error');
        assert.equal(failed.ReplicationHealth, 'Critical');
        assert.match(failed.ReplicationHealthDetails![0]!, /initial replication of virtual machine 'vm1' failed: .+/);
      } else {
        // The copy failed before this command returned: it reports the failure itself.
        assert.equal(started.json.error?.code, 'ERR_CONNECTION', JSON.stringify(started.json));
        assert.equal((await measure(hosts)).ReplicationState, 'Error');
      }
      const get = await cli(['replication', 'get', '--vm-name=vm1', `--state-dir=${hosts.primaryState}`]);
      assert.equal((get.json.result as Row[])[0]!.ReplicationState, 'Error');

      await hosts.startServer();
      const restarted = await cli(['initial', 'start', '--vm-name=vm1', '--bandwidth-limit=1MB/s', `--state-dir=${hosts.primaryState}`]);
      assert.equal(restarted.code, 0, JSON.stringify(restarted.json));
      await until(hosts, 'bytes on the wire', (row) => (row.CurrentTask?.[0]?.BytesTransferred ?? 0) > 0);
      const { Pid } = (await readInitialProgress(hosts.primaryState, hosts.vmId))!;
      process.kill(Pid, 'SIGKILL');
      const dead = await until(hosts, 'the dead process to be noticed', (row) => row.ReplicationState === 'Error');
      assert.equal(dead.ReplicationHealth, 'Critical');
      assert.match(dead.ReplicationHealthDetails![0]!, new RegExp(`process ${Pid} ended without finishing`));
      assert.equal(dead.CurrentTask?.length, 0);
      const stopped = await cli(['initial', 'stop', '--vm-name=vm1', `--state-dir=${hosts.primaryState}`]);
      assert.equal(stopped.code, 0, JSON.stringify(stopped.json));
      assert.equal((stopped.json.result as Row[])[0]!.ReplicationState, 'ReadyForInitialReplication');
    } finally {
      await hosts.dispose();
    }
  });
});
