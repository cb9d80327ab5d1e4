/**
 * Planned failover, reverse replication and failback over the network, with a replica server on BOTH
 * hosts (`hvreplica server run`): prepare on the primary ships the last changes marked Planned, failover
 * on the replica loses nothing, the old primary becomes a replica of its own server (--as-replica), the
 * reverse sends only the blocks that differ, deltas flow back, and the same sequence fails back.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hostCertificate } from '../../src/demo/pairing.js';
import { freePort, ServerProcess } from '../../src/demo/server-process.js';
import { FileHost } from '../../src/host/file/file-host.js';
import { runWorkload } from '../../src/host/file/workload.js';
import { cli, MiB, TwoHosts } from '../e2e/harness.js';
import { cycle, ok, refused, vmHashes } from './helpers.js';

const DISKS = [8 * MiB, 4 * MiB];
const DISK_BYTES = DISKS.reduce((a, b) => a + b, 0);

async function replicateFrom(stateDir: string): Promise<Record<string, unknown>> {
  const run = await cli(['replicate', '--vm=vm1', `--state-dir=${stateDir}`]);
  assert.equal(run.code, 0, JSON.stringify(run.json));
  return run.json.result as Record<string, unknown>;
}

describe('planned failover, reverse and failback over the network', () => {
  it('no data lost by hash, only differences sent back, deltas flow back, failback to the original direction', async () => {
    const hosts = await TwoHosts.create({ disks: DISKS, recoveryHistory: 4 });
    let primaryServer: ServerProcess | undefined;
    try {
      await hosts.startServer();
      await runWorkload(hosts.host, { vm: hosts.vmId, seed: 51, maxBytes: 3 * MiB });
      await cycle(hosts);
      await runWorkload(hosts.host, { vm: hosts.vmId, seed: 52, maxBytes: 1 * MiB });
      await cycle(hosts);

      // Changes the replica has not got yet; a prepare needs the VM off.
      await runWorkload(hosts.host, { vm: hosts.vmId, seed: 53, maxBytes: 1 * MiB });
      assert.match(await refused(hosts, 'primary', 4, 'ERR_INVALID_STATE', 'failover', 'start', '--vm-name=vm1', '--prepare'), /needs it off/);
      await hosts.host.stopVm(hosts.vmId);
      const final = await vmHashes(hosts.primaryState, hosts.vmId);

      // Without a reachable replica server: a clear error, nothing changed.
      await hosts.server!.stop();
      const unreachable = await cli(['failover', 'start', '--vm-name=vm1', '--prepare', `--state-dir=${hosts.primaryState}`]);
      assert.equal(unreachable.code, 1, JSON.stringify(unreachable.json));
      assert.equal(unreachable.json.error?.code, 'ERR_CONNECTION');
      assert.match(unreachable.json.error!.message, /cannot be reached.*Nothing changed/);
      assert.equal((await ok(hosts, 'primary', 'replication', 'get', '--vm-name=vm1'))[0]!.ReplicationState, 'Replicating');
      await hosts.startServer();

      const [prepared] = await ok(hosts, 'primary', 'failover', 'start', '--vm-name=vm1', '--prepare');
      assert.deepEqual([prepared!.ReplicationMode, prepared!.ReplicationState], ['Primary', 'PreparedForFailover']);
      const [replicaHealth] = await ok(hosts, 'replica', 'replication', 'measure', '--vm-name=vm1');
      assert.equal(replicaHealth!.LastReplicationType, 'Planned');

      const [failedOver] = await ok(hosts, 'replica', 'failover', 'start', '--vm-name=vm1');
      assert.equal(failedOver!.ReplicationState, 'FailedOverWaitingCompletion');
      assert.deepEqual(await vmHashes(hosts.replicaState, hosts.vmId), final, 'a planned failover loses nothing');
      assert.equal((await ok(hosts, 'replica', 'replication', 'measure', '--vm-name=vm1'))[0]!.FailedOverReplicationType, 'Planned');

      // The old primary becomes a replica of its own replica server: it needs an authorization entry for the peer.
      const primaryPort = await freePort();
      const primaryServerCert = await hostCertificate(hosts.primaryState, hosts.pairing.ca, ['primary.e2e.test', 'localhost']);
      await ok(hosts, 'primary', 'server', 'set', '--replication-enabled=true', '--allowed-authentication-type=Certificate', `--certificate-thumbprint=${primaryServerCert}`, `--certificate-authentication-port=${primaryPort}`);
      const asReplica = ['replication', 'set', '--vm-name=vm1', '--as-replica', '--allowed-primary-server=replica.e2e.test'];
      assert.match(await refused(hosts, 'primary', 4, 'ERR_INVALID_STATE', ...asReplica), /hvreplica auth add --allowed-primary-server replica\.e2e\.test/);
      const added = await cli(['auth', 'add', '--allowed-primary-server=replica.e2e.test', `--replica-storage-location=${join(hosts.root, 'storage-a')}`, '--trust-group=e2e', `--state-dir=${hosts.primaryState}`]);
      assert.equal(added.code, 0, JSON.stringify(added.json));
      const [madeReplica] = await ok(hosts, 'primary', ...asReplica);
      assert.deepEqual([madeReplica!.ReplicationMode, madeReplica!.ReplicationState], ['Replica', 'WaitingForInitialReplication']);
      primaryServer = await ServerProcess.start({ stateDir: hosts.primaryState, args: ['--recovery-point-interval-sec=0.001'] });

      // The default name, the old primary's as its certificate carries it, does not resolve on loopback:
      // refused before anything changes, naming the option to pass.
      const unnamed = await refused(hosts, 'replica', 2, 'ERR_INVALID_ARGUMENT', 'replication', 'set', '--vm-name=vm1', '--reverse', `--replica-server-port=${primaryPort}`, `--certificate-thumbprint=${hosts.pairing.replicaThumbprint}`);
      assert.match(unnamed, /'primary\.e2e\.test'.*does not resolve on this host.*--replica-server-name.*Set-HvrVMReplication -ReplicaServerName/);
      assert.equal((await ok(hosts, 'replica', 'replication', 'get', '--vm-name=vm1'))[0]!.ReplicationState, 'FailedOverWaitingCompletion', 'the failover was not completed on the way');

      // Reverse on the failed-over host: only the differences travel.
      const reverse = ['replication', 'set', '--vm-name=vm1', '--reverse', '--replica-server-name=localhost', `--replica-server-port=${primaryPort}`, `--certificate-thumbprint=${hosts.pairing.replicaThumbprint}`];
      const [reversed] = await ok(hosts, 'replica', ...reverse);
      assert.deepEqual([reversed!.ReplicationMode, reversed!.ReplicationState, reversed!.ReplicaServerName], ['Primary', 'Replicating', 'localhost']);
      const [reverseHealth] = await ok(hosts, 'replica', 'replication', 'measure', '--vm-name=vm1');
      const reverseBytes = reverseHealth!.InitialReplicationSize as number;
      assert.ok(reverseBytes < DISK_BYTES / 20, `reverse sent ${reverseBytes} bytes for ${DISK_BYTES} bytes of disk`);
      const [oldPrimary] = await ok(hosts, 'primary', 'replication', 'get', '--vm-name=vm1');
      assert.deepEqual([oldPrimary!.ReplicationMode, oldPrimary!.ReplicationState], ['Replica', 'Replicating']);

      // Deltas flow back from the new primary.
      const newPrimaryHost = new FileHost({ root: join(hosts.replicaState, 'vms') });
      await newPrimaryHost.startVm(hosts.vmId);
      await runWorkload(newPrimaryHost, { vm: hosts.vmId, seed: 54, maxBytes: 1 * MiB });
      const delta = await replicateFrom(hosts.replicaState);
      assert.equal(delta.Kind, 'delta');
      await runWorkload(newPrimaryHost, { vm: hosts.vmId, seed: 55, maxBytes: 512 * 1024 });
      assert.equal((await replicateFrom(hosts.replicaState)).Kind, 'delta');

      // Failback: the same sequence the other way.
      await newPrimaryHost.stopVm(hosts.vmId);
      const backContent = await vmHashes(hosts.replicaState, hosts.vmId);
      assert.equal((await ok(hosts, 'replica', 'failover', 'start', '--vm-name=vm1', '--prepare'))[0]!.ReplicationState, 'PreparedForFailover');
      const [back] = await ok(hosts, 'primary', 'failover', 'start', '--vm-name=vm1');
      assert.equal(back!.ReplicationState, 'FailedOverWaitingCompletion');
      assert.deepEqual(await vmHashes(hosts.primaryState, hosts.vmId), backContent, 'failback loses nothing');
      await ok(hosts, 'replica', 'replication', 'set', '--vm-name=vm1', '--as-replica', '--allowed-primary-server=primary.e2e.test');
      // Port and certificate default to the original relationship's; the name is given because the default
      // (replica.e2e.test, the name the peer's certificate carries) does not resolve on loopback (refused above).
      const [again] = await ok(hosts, 'primary', 'replication', 'set', '--vm-name=vm1', '--reverse', '--replica-server-name=localhost');
      assert.deepEqual([again!.ReplicationMode, again!.ReplicationState, again!.ReplicaServerName], ['Primary', 'Replicating', 'localhost']);
      const backBytes = (await ok(hosts, 'primary', 'replication', 'measure', '--vm-name=vm1'))[0]!.InitialReplicationSize as number;
      assert.ok(backBytes < DISK_BYTES / 20, `failback reverse sent ${backBytes} bytes for ${DISK_BYTES} bytes of disk`);
      assert.deepEqual((await ok(hosts, 'replica', 'replication', 'get', '--vm-name=vm1')).map((r) => [r.ReplicationMode, r.ReplicationState]), [['Replica', 'Replicating']]);
      await hosts.host.startVm(hosts.vmId);
      await runWorkload(hosts.host, { vm: hosts.vmId, seed: 56, maxBytes: 512 * 1024 });
      assert.equal((await replicateFrom(hosts.primaryState)).Kind, 'delta', 'the original direction replicates deltas again');
    } finally {
      await primaryServer?.kill();
      await hosts.dispose();
    }
  });
});
