/**
 * Remove-VMReplication after a failover that was completed while the VM ran on a host that holds a running
 * VM's chain open (Hyper-V; here the file host made to hold it, test/helpers/holding-host.ts) and then
 * reversed over the network while it still ran: the pending step of the completion (record.heldChain) now
 * lives in the relationship file the removal deletes. With the VM off, `hvreplica replication remove`
 * finishes it first — the VM moves onto standalone disks, the chain's folder goes — so nothing is orphaned.
 * The refusal while the VM runs is tested here in process (the CLI's file host never holds a chain) and on the
 * Hyper-V adapter (test/hyperv-unit/failover.test.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hostCertificate } from '../../src/demo/pairing.js';
import { freePort, ServerProcess } from '../../src/demo/server-process.js';
import { completeFailover, FailoverSite, isFailoverError } from '../../src/failover/index.js';
import { finishHeldChainsBeforeRemoval } from '../../src/cli/commands/replication/held-chains.js';
import { reverseOverNetwork } from '../../src/failover/network.js';
import { runWorkload } from '../../src/host/file/workload.js';
import { HoldingFileHost } from '../helpers/holding-host.js';
import { cli, MiB, TwoHosts } from '../e2e/harness.js';
import { cycle, ok, refused, vmHashes } from './helpers.js';

describe('replication remove of a reversed VM whose completed failover still holds its chain', () => {
  it('with the VM off the chain is finished first: standalone disks, the folder deleted, then the relationship goes', async () => {
    const hosts = await TwoHosts.create({ disks: [8 * MiB, 4 * MiB] });
    let primaryServer: ServerProcess | undefined;
    try {
      await hosts.startServer();
      await runWorkload(hosts.host, { vm: hosts.vmId, seed: 61, maxBytes: 2 * MiB });
      await cycle(hosts);
      await hosts.host.stopVm(hosts.vmId);
      await ok(hosts, 'replica', 'failover', 'start', '--vm-name=vm1');

      // B starts the VM and completes while it runs: the recovery point's chain stays under it.
      const bHost = new HoldingFileHost({ root: join(hosts.replicaState, 'vms') });
      const site = new FailoverSite({ name: 'replica.e2e.test', stateDir: hosts.replicaState, host: bHost });
      await bHost.startVm(hosts.vmId);
      const completed = await completeFailover(site, hosts.vmId);
      assert.equal(completed.heldChain?.storagePath, hosts.replicaDir);

      // A becomes B's replica; B reverses while its VM still runs, so the chain stays pending.
      const portA = await freePort();
      const certA = await hostCertificate(hosts.primaryState, hosts.pairing.ca, ['primary.e2e.test', 'localhost']);
      await ok(hosts, 'primary', 'server', 'set', '--replication-enabled=true', '--allowed-authentication-type=Certificate', `--certificate-thumbprint=${certA}`, `--certificate-authentication-port=${portA}`);
      const added = await cli(['auth', 'add', '--allowed-primary-server=replica.e2e.test', `--replica-storage-location=${join(hosts.root, 'storage-a')}`, '--trust-group=e2e', `--state-dir=${hosts.primaryState}`]);
      assert.equal(added.code, 0, JSON.stringify(added.json));
      await ok(hosts, 'primary', 'replication', 'set', '--vm-name=vm1', '--as-replica', '--allowed-primary-server=replica.e2e.test');
      primaryServer = await ServerProcess.start({ stateDir: hosts.primaryState, args: ['--recovery-point-interval-sec=0.001'] });
      const reversed = await reverseOverNetwork(site, bHost, hosts.vmId, { replicaServerName: 'localhost', replicaServerPort: portA, certificateThumbprint: hosts.pairing.replicaThumbprint });
      assert.equal(reversed.record.mode, 'Primary');
      assert.deepEqual((await site.store.relationship(hosts.vmId))?.Failover?.heldChain, completed.heldChain, 'the pending step lives in the relationship file now');

      await runWorkload(bHost, { vm: hosts.vmId, seed: 62, maxBytes: 256 * 1024 });
      // While the VM runs on the chain: its exact name is refused; a pattern leaves it waiting (a warning says
      // why) so that the pattern's other VMs are removed, as Hyper-V removes each VM on its own. Nothing changes.
      await assert.rejects(finishHeldChainsBeforeRemoval(site, 'vm1'), (e: unknown) => isFailoverError(e, 'ERR_INVALID_STATE') && /Stop-VM/.test(e.message));
      assert.deepEqual([...(await finishHeldChainsBeforeRemoval(site, 'VM*'))], [hosts.vmId]);
      assert.deepEqual((await site.store.relationship(hosts.vmId))?.Failover?.heldChain, completed.heldChain, 'the chain is still held, and named');
      assert.ok(existsSync(hosts.replicaDir));
      await bHost.stopVm(hosts.vmId);
      const reads = await vmHashes(hosts.replicaState, hosts.vmId);

      const [removed] = await ok(hosts, 'replica', 'replication', 'remove', '--vm-name=vm1');
      assert.deepEqual([removed!.ReplicationMode, removed!.ReplicationState], ['Primary', 'Replicating'], 'the relationship as it was just before removal');
      assert.match(await refused(hosts, 'replica', 4, 'ERR_REPLICATION_NOT_ENABLED', 'replication', 'get', '--vm-name=vm1'), /not enabled/);
      assert.ok(!existsSync(hosts.replicaDir), 'the held chain and its folder were deleted, not orphaned');
      const standalone = readdirSync(site.failedOverDiskFolder(hosts.vmId)).filter((f) => f.endsWith('.vhdx'));
      assert.equal(standalone.length, 2, `one standalone base disk per disk: ${standalone.join(', ')}`);
      assert.deepEqual(await vmHashes(hosts.replicaState, hosts.vmId), reads, 'the VM reads what it read, its writes included');
    } finally {
      await primaryServer?.kill();
      await hosts.dispose();
    }
  });
});
