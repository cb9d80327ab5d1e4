/**
 * Measure-VMReplication on the replica (hyperv-replica.md §3.2): the replica server counts each cycle it
 * received and applied, so the replica's row shows the successful cycles, the sizes received and the
 * last replication, instead of zeros.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cli, MiB, TwoHosts } from './harness.js';

type Health = {
  ReplicationMode: string;
  ReplicationHealth: string;
  SuccessfulReplicationCount: number;
  AverageReplicationSize: number;
  MaximumReplicationSize: number;
  AverageReplicationLatency: number | null;
  LastReplicationTime: string | null;
  MissedReplicationCount: number;
};

describe('replica-side statistics', () => {
  it('counts every received and applied cycle with the bytes it brought', async () => {
    const hosts = await TwoHosts.create({ disks: [8 * MiB] });
    try {
      await hosts.startServer();
      const sizes: number[] = [];
      await hosts.workload(['--seed=5', '--bytes=2MiB']);
      for (const seed of [6, 7]) {
        const run = await hosts.replicate();
        assert.equal(run.code, 0, JSON.stringify(run.json));
        sizes.push(run.cycle!.LogBytes);
        await hosts.workload([`--seed=${seed}`, '--bytes=512KiB']);
      }
      const last = await hosts.replicate();
      sizes.push(last.cycle!.LogBytes);
      // The server applies a complete cycle before it acknowledges the last log: counted by now.
      const run = await cli(['replication', 'measure', '--vm-name=vm1', `--state-dir=${hosts.replicaState}`]);
      assert.equal(run.code, 0, JSON.stringify(run.json));
      const row = (run.json.result as Health[]).find((r) => r.ReplicationMode === 'Replica')!;
      assert.equal(row.SuccessfulReplicationCount, 3);
      assert.equal(row.MaximumReplicationSize, Math.max(...sizes));
      assert.equal(row.AverageReplicationSize, Math.round(sizes.reduce((a, b) => a + b, 0) / 3));
      assert.equal(typeof row.AverageReplicationLatency, 'number');
      assert.notEqual(row.LastReplicationTime, null);
      assert.equal(row.MissedReplicationCount, 0);
      assert.equal(row.ReplicationHealth, 'Normal');

      // Reset-VMReplicationStatistics on the replica server: its counts start again, and go on from there.
      const reset = await cli(['replication', 'reset-statistics', '--vm-name=vm1', `--state-dir=${hosts.replicaState}`]);
      assert.equal(reset.code, 0, JSON.stringify(reset.json));
      assert.deepEqual((reset.json.result as Health[]).map((r) => r.ReplicationMode), ['Replica']);
      const zeroed = (await cli(['replication', 'measure', '--vm-name=vm1', `--state-dir=${hosts.replicaState}`])).json.result as Health[];
      assert.equal(zeroed.find((r) => r.ReplicationMode === 'Replica')!.SuccessfulReplicationCount, 0);
      await hosts.workload(['--seed=8', '--bytes=256KiB']);
      const next = await hosts.replicate();
      assert.equal(next.code, 0, JSON.stringify(next.json));
      const counted = (await cli(['replication', 'measure', '--vm-name=vm1', `--state-dir=${hosts.replicaState}`])).json.result as Health[];
      const after = counted.find((r) => r.ReplicationMode === 'Replica')!;
      assert.equal(after.SuccessfulReplicationCount, 1);
      assert.equal(after.MaximumReplicationSize, next.cycle!.LogBytes);
      // The primary's own row is the primary's to reset: untouched by the replica's reset.
      const primary = (await cli(['replication', 'measure', '--vm-name=vm1', `--state-dir=${hosts.primaryState}`])).json.result as Health[];
      assert.equal(primary.find((r) => r.ReplicationMode === 'Primary')!.SuccessfulReplicationCount, 4);
    } finally {
      await hosts.dispose();
    }
  });
});
