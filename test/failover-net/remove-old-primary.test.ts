/**
 * Remove-VMReplication on the old primary after a failover and reverse, where it now is the replica
 * (-AsReplica, then the failed-over host reversed towards it): the same removal as on any replica server,
 * over loopback with the real servers and CLI. Its VM stays at the last cycle it acknowledged, its
 * relationship file goes with the record inside it, a tombstone names the new primary's relationship, and
 * the new primary's next cycle is refused (ERR_REPLICATION_REMOVED, exit 4) saying what to do there.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ServerProcess } from '../../src/demo/server-process.js';
import { FileHost } from '../../src/host/file/file-host.js';
import { runWorkload } from '../../src/host/file/workload.js';
import { RelationshipStore } from '../../src/relationship/index.js';
import { RemovedRelationships } from '../../src/replica/removed-relationships.js';
import { VmRegistry } from '../../src/replica/vm-registry.js';
import { cli, MiB, TwoHosts } from '../e2e/harness.js';
import { ok, oldPrimaryReplicaServer, plannedFailover, refused, vmHashes } from './helpers.js';

describe('replication remove on the old primary that became the replica', () => {
  it('keeps the VM at the last acknowledged cycle, leaves a tombstone, and refuses the new primary with what to do', async () => {
    const hosts = await TwoHosts.create({ disks: [4 * MiB], recoveryHistory: 4 });
    let oldPrimaryServer: ServerProcess | undefined;
    try {
      await hosts.startServer();
      await plannedFailover(hosts, 81);
      // The old primary (A) becomes the replica of the failed-over host (B), through its own replica server.
      const { port, storage: storageA } = await oldPrimaryReplicaServer(hosts);
      await ok(hosts, 'primary', 'replication', 'set', '--vm-name=vm1', '--as-replica', '--allowed-primary-server=replica.e2e.test');
      oldPrimaryServer = await ServerProcess.start({ stateDir: hosts.primaryState, args: ['--recovery-point-interval-sec=0.001'] });
      await ok(hosts, 'replica', 'replication', 'set', '--vm-name=vm1', '--reverse', '--replica-server-name=localhost', `--replica-server-port=${port}`, `--certificate-thumbprint=${hosts.pairing.replicaThumbprint}`);
      const newPrimary = new FileHost({ root: join(hosts.replicaState, 'vms') });
      await newPrimary.startVm(hosts.vmId);
      await runWorkload(newPrimary, { vm: hosts.vmId, seed: 82, maxBytes: 1 * MiB });
      const delta = await cli(['replicate', '--vm=vm1', `--state-dir=${hosts.replicaState}`]);
      assert.equal(delta.code, 0, JSON.stringify(delta.json));
      const acknowledged = await vmHashes(hosts.replicaState, hosts.vmId);
      const reversedRelationship = (await new RelationshipStore(hosts.replicaState).get(hosts.vmId))!;
      assert.equal((await new VmRegistry(hosts.primaryState).get(hosts.vmId))?.RelationshipId, reversedRelationship.RelationshipId, 'A registered B\'s relationship');

      // A: the replica's end goes; the VM comes back as an ordinary VM at what B last had acknowledged.
      const [removed] = await ok(hosts, 'primary', 'replication', 'remove', '--vm-name=vm1');
      assert.deepEqual([removed!.VMName, removed!.ReplicationMode, removed!.ReplicationState], ['vm1', 'Replica', 'Replicating'], 'the relationship as it was just before');
      const kept = await new FileHost({ root: join(hosts.primaryState, 'vms') }).getVm('vm1');
      assert.deepEqual([kept.id, kept.isReplica, kept.state], [hosts.vmId, false, 'off']);
      assert.deepEqual(await vmHashes(hosts.primaryState, 'vm1'), acknowledged, 'the kept VM holds the last cycle A acknowledged');
      assert.equal(await new RelationshipStore(hosts.primaryState).get(hosts.vmId), undefined, 'the relationship file (and the record inside it) is gone');
      assert.equal(await new VmRegistry(hosts.primaryState).get(hosts.vmId), undefined);
      assert.ok(!existsSync(join(storageA, 'hvreplica', hosts.vmId)), 'the replica storage is gone');
      const tombstone = await new RemovedRelationships(hosts.primaryState).list(hosts.vmId);
      assert.deepEqual(
        tombstone.map((t) => [t.RelationshipId, t.RelationshipType, t.PrimaryServerName, t.ReplicaServerName]),
        [[reversedRelationship.RelationshipId, 'Simple', 'replica.e2e.test', 'primary.e2e.test']],
        'one tombstone naming the new primary\'s relationship',
      );
      assert.deepEqual(await ok(hosts, 'primary', 'replication', 'get', '--vm-name=*'), []);
      assert.match(await refused(hosts, 'primary', 4, 'ERR_REPLICATION_NOT_ENABLED', 'replication', 'remove', '--vm-name=vm1'), /already removed on this host at .*kept as an ordinary VM/);

      // B's next cycle is refused as by any replica server that removed the relationship, naming B as the primary.
      await runWorkload(newPrimary, { vm: hosts.vmId, seed: 83, maxBytes: 512 * 1024 });
      const refusedCycle = await cli(['replicate', '--vm=vm1', `--state-dir=${hosts.replicaState}`]);
      assert.equal(refusedCycle.code, 4, JSON.stringify(refusedCycle.json));
      assert.equal(refusedCycle.json.error?.code, 'ERR_REPLICATION_REMOVED');
      assert.match(
        refusedCycle.json.error!.message,
        /replication of VM 'vm1' was removed on replica server primary\.e2e\.test .*On the primary \(replica\.e2e\.test\): remove the relationship too \(hvreplica replication remove --vm-name vm1/,
      );
      assert.deepEqual(await vmHashes(hosts.primaryState, 'vm1'), acknowledged, 'and changed nothing on A');
      const [onB] = await ok(hosts, 'replica', 'replication', 'get', '--vm-name=vm1');
      assert.deepEqual([onB!.ReplicationMode, onB!.ReplicationState, onB!.ReplicationHealth], ['Primary', 'Error', 'Critical']);
      // B's administrator removes its end too.
      await ok(hosts, 'replica', 'replication', 'remove', '--vm-name=vm1');
      assert.equal(await new RelationshipStore(hosts.replicaState).get(hosts.vmId), undefined);
    } finally {
      await oldPrimaryServer?.kill();
      await hosts.dispose();
    }
  });
});
