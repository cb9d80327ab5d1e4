/**
 * Suspend-VMReplication during a resynchronization (hyperv-replica.md §2.9, §5.4): the resync running in
 * another process stops (the cycle lock's cancel), the relationship is ResynchronizeSuspended and waits
 * for a resume (neither `replicate` nor the agent restarts it), nothing of the stopped attempt is applied,
 * and after the resume the resync continues and the replica equals the primary.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dueForCycle } from '../../src/agent/agent.js';
import { RelationshipStore } from '../../src/relationship/index.js';
import { openVhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { cli, MiB, TwoHosts } from '../e2e/harness.js';

type Row = { ReplicationState: string; ReplicationHealth: string; ReplicationHealthDetails?: string[] };

async function row(hosts: TwoHosts, verb: 'get' | 'measure' | 'suspend' | 'resume'): Promise<Row> {
  const run = await cli(['replication', verb, '--vm-name=vm1', `--state-dir=${hosts.primaryState}`]);
  assert.equal(run.code, 0, JSON.stringify(run.json));
  return (run.json.result as Row[])[0]!;
}

describe('suspend during a resynchronization', () => {
  it('stops the running resync, waits for a resume, then the resync continues to an exact replica', async () => {
    // Enough to send that the resync is still running when the suspend arrives: the comparison itself is quick now.
    const hosts = await TwoHosts.create({ disks: [128 * MiB, 128 * MiB] });
    try {
      const server = await hosts.startServer();
      await hosts.workload(['--seed=91', '--bytes=8MiB']);
      const initial = await hosts.replicate();
      assert.equal(initial.cycle?.Kind, 'initial');
      await hosts.workload(['--seed=92', '--bytes=160MiB', '--zero-share=0', '--trim-share=0']);
      const stray = await hosts.host.createReferencePoint(hosts.vmId);
      await hosts.host.commitReferencePoint(hosts.vmId, stray.id);
      assert.equal((await hosts.replicate()).json.error?.code, 'ERR_RESYNC_REQUIRED');

      // The server answered the resync's manifest: computed, or brought up from the one it keeps in the background.
      const computed = () => server.stderr.split(/manifest computed|manifest from the kept one/).length - 1;
      const running = cli(['replication', 'resume', '--vm-name=vm1', '--resynchronize', `--state-dir=${hosts.primaryState}`]);
      for (let i = 0; i < 3000 && computed() === 0; i += 1) await new Promise((r) => setTimeout(r, 5));
      assert.ok(computed() > 0, `the server never served a manifest:\n${server.stderr}`);
      // The replica server is paused until the resync has stopped, so the resync cannot be acknowledged before the
      // suspend lands, however quickly it hashes and sends (the suspend itself is the primary's business alone).
      // The suspend also covers a replica server that stopped answering: the resync's requests end at its cancel.
      server.child.kill('SIGSTOP');
      let stopped: Awaited<typeof running>;
      try {
        const suspended = await row(hosts, 'suspend');
        assert.equal(suspended.ReplicationState, 'ResynchronizeSuspended');
        stopped = await running;
      } finally {
        server.child.kill('SIGCONT');
      }
      assert.notEqual(stopped.code, 0, 'the suspend stopped the resync before it was acknowledged');
      assert.equal(stopped.json.error?.code, 'ERR_CANCELLED', `stopped by the suspend, not by the silent server's timeout: ${JSON.stringify(stopped.json)}`);
      const health = await row(hosts, 'measure');
      assert.deepEqual([health.ReplicationState, health.ReplicationHealth], ['ResynchronizeSuspended', 'Critical']);
      assert.match(health.ReplicationHealthDetails!.join(' '), /resynchronization of virtual machine 'vm1' is suspended/);
      const refused = await hosts.replicate();
      assert.equal(refused.json.error?.code, 'ERR_INVALID_STATE', JSON.stringify(refused.json));
      assert.match(refused.json.error!.message, /resume/);
      const rel = (await new RelationshipStore(hosts.primaryState).get(hosts.vmId))!;
      assert.equal(dueForCycle({ ...rel, AutoResynchronizeEnabled: true, AutoResynchronizeIntervalStart: 0, AutoResynchronizeIntervalEnd: 86399 }, new Date()), false, 'the window does not restart a paused resync');
      await server.stop();
      const status = await (await openVhdxReplicaStorage(hosts.replicaDir)).status();
      assert.equal(status.referencePoint, initial.cycle!.ReferencePoint, 'nothing of the stopped resync was applied');
      assert.equal((await hosts.host.getVm(hosts.vmId)).referencePoints.filter((p) => p.state === 'frozen').length, 0, 'the stopped attempt discarded its point');
      await hosts.startServer();

      assert.equal((await row(hosts, 'resume')).ReplicationState, 'Resynchronizing');
      const continued = await hosts.replicate();
      assert.equal(continued.code, 0, JSON.stringify(continued.json));
      assert.equal(continued.cycle?.Kind, 'resync');
      assert.equal((await row(hosts, 'get')).ReplicationState, 'Replicating');
      const last = await hosts.replicate();
      assert.equal(last.cycle?.Kind, 'delta', JSON.stringify(last.json));
      assert.equal(await hosts.server!.stop(), 0);
      assert.ok((await hosts.verifyReplica(last.cycle!.ReferencePoint)) >= 2);
    } finally {
      await hosts.dispose();
    }
  });
});
