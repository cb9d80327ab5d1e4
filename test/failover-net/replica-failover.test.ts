/**
 * Failover on the replica host of a VM replicated over the network (issue #7): the replica server writes
 * the failover records, the CLI on its state directory runs test failover, unplanned failover, cancel and
 * complete, and the server refuses logs once the replica failed over. Content is checked by SHA-256
 * against what the primary held at each reference point, while a guest workload keeps writing.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { describe, it } from 'node:test';
import { runWorkload } from '../../src/host/file/workload.js';
import { MiB, TwoHosts } from '../e2e/harness.js';
import { cycle, ok, pointReferences, refused, vmHashes } from './helpers.js';

describe('failover of a VM replicated over the network', () => {
  it('records, test failover while replication goes on, unplanned failover, cancel, complete, and the split-brain refusal', async () => {
    const hosts = await TwoHosts.create({ disks: [8 * MiB, 4 * MiB], recoveryHistory: 8 });
    const stop = new AbortController();
    let workload: Promise<unknown> | undefined;
    try {
      await hosts.startServer();
      await runWorkload(hosts.host, { vm: hosts.vmId, seed: 31, maxBytes: 3 * MiB });

      // Before the first cycle applies there is no record (the definition comes with the first full copy).
      const initial = await hosts.replicate();
      assert.equal(initial.code, 0, JSON.stringify(initial.json));
      const [record] = await ok(hosts, 'replica', 'replication', 'get', '--vm-name=vm1');
      assert.deepEqual(
        [record!.ReplicationMode, record!.ReplicationState, record!.ReplicationHealth, record!.PrimaryServerName, record!.TestVirtualMachine],
        ['Replica', 'Replicating', 'Normal', 'primary.e2e.test', null],
      );
      assert.notEqual(record!.LastReplicationTime, null);
      const [health] = await ok(hosts, 'replica', 'replication', 'measure', '--vm-name=vm1');
      assert.equal(health!.LastReplicationType, 'Regular');

      workload = runWorkload(hosts.host, { vm: hosts.vmId, seed: 32, rate: 1 * MiB, batch: 2, signal: stop.signal });
      for (let i = 0; i < 3; i += 1) await cycle(hosts);
      const points = await ok(hosts, 'replica', 'recovery-point', 'list', '--vm-name=vm1');
      assert.equal(points.length, 4, 'one recovery point per cycle');
      const references = await pointReferences(hosts);
      const chosen = points[1]!;
      const want = hosts.expected.get(references.get(String(chosen.Id))!);
      assert.ok(want, 'the primary content at the chosen point is known');

      // Test failover from a chosen point; replication continues meanwhile.
      const [testVm] = await ok(hosts, 'replica', 'failover', 'start', '--vm-name=vm1', '--as-test', `--recovery-point=${String(chosen.Id)}`);
      assert.deepEqual([testVm!.Name, testVm!.ReplicationMode], ['vm1 - Test', 'TestReplica']);
      assert.deepEqual(await vmHashes(hosts.replicaState, String(testVm!.Id)), want, 'the test VM holds the chosen point');
      const [withTest] = await ok(hosts, 'replica', 'replication', 'get', '--vm-name=vm1');
      assert.equal((withTest!.TestVirtualMachine as Record<string, unknown>).Name, 'vm1 - Test');
      // Cycles are accepted (and held) during a test failover.
      for (let i = 0; i < 2; i += 1) await cycle(hosts);
      await refused(hosts, 'replica', 4, 'ERR_ALREADY_EXISTS', 'failover', 'start', '--vm-name=vm1', '--as-test');
      assert.deepEqual(await vmHashes(hosts.replicaState, String(testVm!.Id)), want, 'the test VM is untouched by the cycles that arrived');
      const [stopped] = await ok(hosts, 'replica', 'failover', 'stop', '--vm-name=vm1');
      assert.equal(stopped!.StoppedOperation, 'test-failover-stopped');
      assert.equal((await ok(hosts, 'replica', 'replication', 'get', '--vm-name=vm1'))[0]!.TestVirtualMachine, null);
      await cycle(hosts);

      // Unplanned failover to an older named point; the server then refuses the primary's logs.
      const before = await ok(hosts, 'replica', 'recovery-point', 'list', '--vm-name=vm1');
      const older = before[2]!;
      const olderWant = hosts.expected.get((await pointReferences(hosts)).get(String(older.Id))!);
      const [failed] = await ok(hosts, 'replica', 'failover', 'start', '--vm-name=vm1', `--recovery-point=${String(older.Id)}`);
      assert.deepEqual([failed!.ReplicationMode, failed!.ReplicationState], ['Replica', 'FailedOverWaitingCompletion']);
      assert.deepEqual(await vmHashes(hosts.replicaState, hosts.vmId), olderWant, 'the failed-over VM holds the chosen point');
      const splitBrain = await hosts.replicate();
      assert.equal(splitBrain.code, 4, JSON.stringify(splitBrain.json));
      assert.equal(splitBrain.json.error?.code, 'ERR_INVALID_STATE');
      assert.match(splitBrain.json.error!.message, /has failed over on replica .* accepts no more changes/);

      // Cancel: back to Replicating with the chain as it was; replication resumes.
      const [cancelled] = await ok(hosts, 'replica', 'failover', 'stop', '--vm-name=vm1');
      assert.deepEqual([cancelled!.ReplicationState, cancelled!.StoppedOperation], ['Replicating', 'failover-cancelled']);
      const after = await ok(hosts, 'replica', 'recovery-point', 'list', '--vm-name=vm1');
      assert.deepEqual(after.map((p) => p.Id), before.map((p) => p.Id), 'cancelling leaves every recovery point');
      await cycle(hosts); // replication resumes after the cancel

      // Quiesce, last cycle, fail over to the latest point and complete.
      stop.abort();
      await workload;
      const last = await hosts.replicate();
      assert.equal(last.code, 0);
      const final = await vmHashes(hosts.primaryState, hosts.vmId);
      assert.deepEqual(hosts.expected.get(last.cycle!.ReferencePoint), final);
      const [latest] = await ok(hosts, 'replica', 'failover', 'start', '--vm-name=vm1');
      assert.equal(latest!.ReplicationState, 'FailedOverWaitingCompletion');
      assert.deepEqual(await vmHashes(hosts.replicaState, hosts.vmId), final, 'failover to the latest point loses nothing once the last cycle arrived');
      const [completed] = await ok(hosts, 'replica', 'failover', 'complete', '--vm-name=vm1');
      assert.equal(completed!.ReplicationState, 'FailedOver');
      assert.deepEqual(await ok(hosts, 'replica', 'recovery-point', 'list', '--vm-name=vm1'), [], 'complete deletes the other recovery points');
      assert.deepEqual(await vmHashes(hosts.replicaState, hosts.vmId), final, 'the completed VM keeps its content');
      // The storage folder went, and nothing beside it is left of it (its lock, the marks of the server's uploads).
      const folder = basename(hosts.replicaDir);
      assert.deepEqual((await readdir(dirname(hosts.replicaDir))).filter((name) => name.startsWith(folder)), [], 'nothing of the storage folder is left');
      const [measured] = await ok(hosts, 'replica', 'replication', 'measure', '--vm-name=vm1');
      assert.deepEqual([measured!.ReplicationState, measured!.ReplicationHealth, measured!.FailedOverReplicationType], ['FailedOver', 'Warning', 'Regular']);
      const refusedAfter = await hosts.replicate();
      assert.equal(refusedAfter.code, 4);
      assert.match(refusedAfter.json.error!.message, /FailedOver/);
      await refused(hosts, 'replica', 4, 'ERR_INVALID_STATE', 'failover', 'complete', '--vm-name=vm1');
    } finally {
      stop.abort();
      await workload?.catch(() => undefined);
      await hosts.dispose();
    }
  });
});
