/**
 * Set-VMReplication -AsReplica on the old primary over the network, interrupted right after its record switched
 * to Replica, or after the old VM went but just before that switch (the process stopped there): run again, it finishes, and the replica server's folder holds the VM's
 * definition (written with the storage's content, before the old VM went, since a retry has no VM to describe),
 * so the failed-over host's reverse and the deltas that follow work as after an uninterrupted run.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ServerProcess } from '../../src/demo/server-process.js';
import { FailoverSite, FailoverStore, type FailoverRecord } from '../../src/failover/index.js';
import { asReplicaOverNetwork } from '../../src/failover/network.js';
import { FileHost } from '../../src/host/file/file-host.js';
import { runWorkload } from '../../src/host/file/workload.js';
import { parseReplicaVmDefinition } from '../../src/protocol/index.js';
import { readJsonFile } from '../../src/replica/atomic-file.js';
import { DEFINITION_FILE } from '../../src/replica/replica-vms.js';
import { VmRegistry } from '../../src/replica/vm-registry.js';
import { cli, MiB, TwoHosts } from '../e2e/harness.js';
import { ok, oldPrimaryReplicaServer, plannedFailover } from './helpers.js';

/** A record store whose process stops right after a record first switched to mode Replica. */
class StoreStoppingAfterSwitch extends FailoverStore {
  stopped = false;
  override async modify(...args: Parameters<FailoverStore['modify']>): Promise<FailoverRecord> {
    const next = await super.modify(...args);
    if (!this.stopped && next.mode === 'Replica') {
      this.stopped = true;
      throw new Error('injected: the process stops right after the switch');
    }
    return next;
  }
}

class SiteStoppingAfterSwitch extends FailoverSite {
  override readonly store = new StoreStoppingAfterSwitch(this.options.stateDir);
}

/** A record store whose process stops just before a record would switch to mode Replica (the old VM went already). */
class StoreStoppingBeforeSwitch extends FailoverStore {
  stopped = false;
  override async modify(...[vmId, change, type]: Parameters<FailoverStore['modify']>): Promise<FailoverRecord> {
    return super.modify(
      vmId,
      (current) => {
        const next = change(current);
        if (!this.stopped && next.mode === 'Replica' && current.mode !== 'Replica') {
          this.stopped = true;
          throw new Error('injected: the process stops just before the switch');
        }
        return next;
      },
      type,
    );
  }
}

class SiteStoppingBeforeSwitch extends FailoverSite {
  override readonly store = new StoreStoppingBeforeSwitch(this.options.stateDir);
}

/** -AsReplica run again on the old primary, then its replica server started and the failed-over host reversed to it. */
async function finishAndReverse(hosts: TwoHosts, port: number): Promise<ServerProcess> {
  const [madeReplica] = await ok(hosts, 'primary', 'replication', 'set', '--vm-name=vm1', '--as-replica', '--allowed-primary-server=replica.e2e.test');
  assert.deepEqual([madeReplica!.ReplicationMode, madeReplica!.ReplicationState], ['Replica', 'WaitingForInitialReplication']);
  const server = await ServerProcess.start({ stateDir: hosts.primaryState, args: ['--recovery-point-interval-sec=0.001'] });
  const [reversed] = await ok(hosts, 'replica', 'replication', 'set', '--vm-name=vm1', '--reverse', '--replica-server-name=localhost', `--replica-server-port=${port}`, `--certificate-thumbprint=${hosts.pairing.replicaThumbprint}`);
  assert.deepEqual([reversed!.ReplicationMode, reversed!.ReplicationState], ['Primary', 'Replicating']);
  return server;
}

describe('as-replica over the network, interrupted around the switch', () => {
  it('finishes when run again, with the VM\'s definition in the replica server\'s folder; reverse and deltas follow', async () => {
    const hosts = await TwoHosts.create({ disks: [4 * MiB], recoveryHistory: 4 });
    let oldPrimaryServer: ServerProcess | undefined;
    try {
      await hosts.startServer();
      await plannedFailover(hosts, 31);
      const { port } = await oldPrimaryReplicaServer(hosts);

      const site = new SiteStoppingAfterSwitch({ name: 'primary.e2e.test', stateDir: hosts.primaryState });
      await assert.rejects(asReplicaOverNetwork(site, site.host, hosts.vmId, 'replica.e2e.test'), /injected/);
      const registered = (await new VmRegistry(hosts.primaryState).get(hosts.vmId))!;
      const definition = parseReplicaVmDefinition(await readJsonFile(join(registered.Path, DEFINITION_FILE)));
      assert.deepEqual([definition.VMId, definition.VMName], [hosts.vmId, 'vm1'], 'the definition is there already');

      oldPrimaryServer = await finishAndReverse(hosts, port);
      const newPrimary = new FileHost({ root: join(hosts.replicaState, 'vms') });
      await newPrimary.startVm(hosts.vmId);
      await runWorkload(newPrimary, { vm: hosts.vmId, seed: 32, maxBytes: 512 * 1024 });
      const delta = await cli(['replicate', '--vm=vm1', `--state-dir=${hosts.replicaState}`]);
      assert.equal(delta.code, 0, JSON.stringify(delta.json));
      assert.equal((delta.json.result as Record<string, unknown>).Kind, 'delta');
      const [onA] = await ok(hosts, 'primary', 'replication', 'get', '--vm-name=vm1');
      assert.deepEqual([onA!.ReplicationMode, onA!.ReplicationState, onA!.PrimaryServerName], ['Replica', 'Replicating', 'replica.e2e.test']);
    } finally {
      await oldPrimaryServer?.kill();
      await hosts.dispose();
    }
  });

  it('finishes when run again after the old VM went but before the record switched (no VM left to read)', async () => {
    const hosts = await TwoHosts.create({ disks: [4 * MiB], recoveryHistory: 4 });
    let oldPrimaryServer: ServerProcess | undefined;
    try {
      await hosts.startServer();
      await plannedFailover(hosts, 33);
      const { port } = await oldPrimaryReplicaServer(hosts);

      const site = new SiteStoppingBeforeSwitch({ name: 'primary.e2e.test', stateDir: hosts.primaryState });
      await assert.rejects(asReplicaOverNetwork(site, site.host, hosts.vmId, 'replica.e2e.test'), /injected/);
      await assert.rejects(site.host.getVm(hosts.vmId), 'the old VM is gone from the host');
      assert.equal((await new FailoverStore(hosts.primaryState).get(hosts.vmId))?.mode, 'Primary', 'and the record did not switch');

      oldPrimaryServer = await finishAndReverse(hosts, port);
      const [onA] = await ok(hosts, 'primary', 'replication', 'get', '--vm-name=vm1');
      assert.deepEqual([onA!.ReplicationMode, onA!.ReplicationState, onA!.PrimaryServerName], ['Replica', 'Replicating', 'replica.e2e.test']);
    } finally {
      await oldPrimaryServer?.kill();
      await hosts.dispose();
    }
  });
});
