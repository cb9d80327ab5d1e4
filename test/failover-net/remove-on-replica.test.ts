/**
 * Remove-VMReplication on the replica server (hyperv-replica.md §2.5), over loopback with the real server
 * and CLI: the replica's end goes, its VM stays (exact content, as an ordinary VM of the replica host), the
 * old primary's next cycle is refused with what to do and changes nothing on the replica, and a removal on
 * the primary followed by a new enable replicates again. Variants: failed over, test failover running,
 * extended replication (A→B→C), and the parameter errors.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { dueForCycle } from '../../src/agent/agent.js';
import { cycleLockFile, primaryStateFile } from '../../src/agent/paths.js';
import { removeReplica } from '../../src/failover/remove-replica.js';
import { FailoverSite } from '../../src/failover/site.js';
import { FileHost } from '../../src/host/file/file-host.js';
import { RelationshipStore } from '../../src/relationship/index.js';
import { RemovedRelationships } from '../../src/replica/removed-relationships.js';
import { VmRegistry } from '../../src/replica/vm-registry.js';
import { TransportError } from '../../src/transport/errors.js';
import { ReplicaClient } from '../../src/transport/http2-client.js';
import { cli, latestContent, MiB, ThreeHosts, TwoHosts, type CliResult } from '../e2e/harness.js';
import { cycle, ok, on, refused, vmHashes } from './helpers.js';
import { whileCycleInFlight } from '../helpers/cycle-in-flight.js';

/** Every file under `roots` with its size and modification time, server logs and lock files aside. */
async function snapshot(...roots: string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (root: string, dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(root, path);
      else if (!/\.log$|\.lock$/.test(entry.name)) {
        const s = await stat(path);
        out.push(`${relative(root, path)} ${s.size} ${s.mtimeMs}`);
      }
    }
  };
  for (const root of roots) await walk(root, root);
  return out.sort();
}

/** `replication enable` of vm1 on the primary, as TwoHosts.create does it. */
function enable(hosts: TwoHosts): Promise<CliResult> {
  return cli([
    'replication', 'enable', '--vm-name=vm1', `--replica-server-name=${hosts.pairing.replicaServerName}`, `--replica-server-port=${hosts.port}`,
    '--authentication-type=Certificate', `--certificate-thumbprint=${hosts.pairing.primaryThumbprint}`, '--recovery-history=4', '--replication-frequency-sec=30',
    `--state-dir=${hosts.primaryState}`,
  ]);
}

/** A registry whose removal of a VM stops right after deleting its registration (a crash, or what follows failing). */
class RegistryFailingAfterRemove extends VmRegistry {
  override async remove(vmId: string): Promise<void> {
    await super.remove(vmId);
    throw new Error('injected: the removal stops right after deleting the registration');
  }
}

/** The replica host's site as the CLI builds it, with that registry. */
class SiteFailingAfterRegistryRemove extends FailoverSite {
  override get registry(): VmRegistry {
    return new RegistryFailingAfterRemove(this.options.stateDir);
  }
}

const REMOVED_MESSAGE = /replication of VM 'vm1' was removed on replica server replica\.e2e\.test .*remove the relationship too \(hvreplica replication remove --vm-name vm1, Remove-HvrVMReplication vm1\).*new initial replication/;

describe('replication remove on the replica server', () => {
  it('keeps the VM at its latest point, refuses the old primary without changing anything, and a removal and enable on the primary replicate again', async () => {
    const hosts = await TwoHosts.create({ disks: [8 * MiB, 4 * MiB], recoveryHistory: 4 });
    try {
      await hosts.startServer();
      await hosts.workload(['--seed=41', '--bytes=3MiB']);
      assert.equal((await cycle(hosts)).Kind, 'initial');
      await hosts.workload(['--seed=42', '--bytes=1MiB']);
      await cycle(hosts);
      // The last cycle arrives while a test failover holds applying back: stored and acknowledged, not applied.
      await ok(hosts, 'replica', 'failover', 'start', '--vm-name=vm1', '--as-test');
      await hosts.workload(['--seed=43', '--bytes=1MiB']);
      const last = await cycle(hosts);
      assert.equal(last.Kind, 'delta');
      const want = hosts.expected.get(last.ReferencePoint)!;
      assert.match(await refused(hosts, 'replica', 4, 'ERR_INVALID_STATE', 'replication', 'remove', '--vm-name=vm1'), /test failover of VM 'vm1' is running/);
      // With the server stopped nothing applies it behind the removal's back: the removal itself must.
      await hosts.server!.stop();
      await ok(hosts, 'replica', 'failover', 'stop', '--vm-name=vm1');
      const stored = JSON.parse(await readFile(join(hosts.replicaDir, 'state.json'), 'utf8')) as { pending: Array<{ sequence: number }>; position: { sequence: number } };
      assert.deepEqual([stored.pending.map((p) => p.sequence), stored.position.sequence], [[last.Sequence], last.Sequence - 1], 'the last cycle waits in incoming/');

      // Wrong parameters first: nothing is removed by them.
      assert.equal((await on(hosts, 'replica', 'replication', 'remove')).code, 2, 'no --vm-name');
      assert.equal((await on(hosts, 'replica', 'replication', 'remove', '--vm-name=vm1', '--replication-relationship-type=Sideways')).code, 2);
      await refused(hosts, 'replica', 3, 'ERR_NOT_FOUND', 'replication', 'remove', '--vm-name=nosuchvm');
      // vm1 is a plain replica on this host: it has no extended relationship to remove.
      await refused(hosts, 'replica', 4, 'ERR_REPLICATION_NOT_ENABLED', 'replication', 'remove', '--vm-name=vm1', '--replication-relationship-type=Extended');
      assert.equal((await ok(hosts, 'replica', 'replication', 'get', '--vm-name=vm1')).length, 1);

      const [removed] = await ok(hosts, 'replica', 'replication', 'remove', '--vm-name=vm1');
      assert.deepEqual([removed!.VMName, removed!.ReplicationMode, removed!.ReplicationState], ['vm1', 'Replica', 'Replicating'], 'the relationship as it was just before removal');
      // The VM is kept with exactly the primary's content at the last acknowledged cycle (applied by the
      // removal if the server had not yet), as an ordinary VM.
      assert.deepEqual(await vmHashes(hosts.replicaState, 'vm1'), want);
      const kept = await new FileHost({ root: join(hosts.replicaState, 'vms') }).getVm('vm1');
      assert.deepEqual([kept.id, kept.isReplica, kept.state], [hosts.vmId, false, 'off']);
      assert.ok(kept.disks.every((d) => d.currentPath.startsWith(join(hosts.replicaState, 'kept-replicas'))), 'on standalone disks of its own');
      const listed = (await on(hosts, 'replica', 'vm', 'list')).json.result as { vms: Array<{ name: string; isReplica: boolean }> };
      assert.deepEqual(listed.vms.map((v) => [v.name, v.isReplica]), [['vm1', false]], 'vm list shows it as a plain VM');
      assert.ok(!existsSync(hosts.replicaDir), 'the replica storage (recovery points, incoming logs) is gone');
      // The replica server no longer lists it; removing again says it already was.
      assert.deepEqual(await ok(hosts, 'replica', 'replication', 'get', '--vm-name=*'), []);
      assert.match(await refused(hosts, 'replica', 4, 'ERR_REPLICATION_NOT_ENABLED', 'replication', 'remove', '--vm-name=vm1'), /already removed on this host at .*kept as an ordinary VM/);

      // The old primary's next cycle is refused, naming the VM and what to do; nothing on the replica changes.
      await hosts.startServer();
      const before = await snapshot(hosts.replicaState, hosts.storageLocation);
      await hosts.workload(['--seed=44', '--bytes=1MiB']);
      const refusedCycle = await hosts.replicate();
      assert.equal(refusedCycle.code, 4, JSON.stringify(refusedCycle.json));
      assert.equal(refusedCycle.json.error?.code, 'ERR_REPLICATION_REMOVED');
      assert.match(refusedCycle.json.error!.message, REMOVED_MESSAGE);
      assert.deepEqual(await snapshot(hosts.replicaState, hosts.storageLocation), before, 'the refused cycle left the replica host as it was');
      assert.deepEqual(await vmHashes(hosts.replicaState, 'vm1'), want);
      const [primary] = await ok(hosts, 'primary', 'replication', 'get', '--vm-name=vm1');
      assert.deepEqual([primary!.ReplicationState, primary!.ReplicationHealth], ['Error', 'Critical'], 'the primary shows the refusal');
      assert.match(String(primary!.ReplicationError), /^refused by the replica server at .*: replication of VM 'vm1' was removed on replica server/, 'and says why and what to do');
      // The agent starts no cycle for it (no reference point on the VM) until the administrator acts.
      const primaryRel = (await new RelationshipStore(hosts.primaryState).get(hosts.vmId))!;
      assert.ok(primaryRel.RemovedOnReplica && !dueForCycle(primaryRel, new Date()));
      const [measured] = await ok(hosts, 'primary', 'replication', 'measure', '--vm-name=vm1');
      assert.match((measured!.ReplicationHealthDetails as string[])[0]!, /nothing is sent until you act/);
      // Resume is the administrator's "try again" (Hyper-V's Resume of a relationship in Error): refused again.
      const [resumed] = await ok(hosts, 'primary', 'replication', 'resume', '--vm-name=vm1');
      assert.deepEqual([resumed!.ReplicationState, resumed!.ReplicationError], ['Replicating', undefined]);
      assert.ok(dueForCycle((await new RelationshipStore(hosts.primaryState).get(hosts.vmId))!, new Date()));
      assert.equal((await hosts.replicate()).json.error?.code, 'ERR_REPLICATION_REMOVED');
      assert.ok((await new RelationshipStore(hosts.primaryState).get(hosts.vmId))!.RemovedOnReplica, 'marked again');
      // A primary that names no relationship (older hvreplica) is refused too, and told to upgrade.
      const client = await ReplicaClient.connect((await hosts.connection()).endpoint, (await hosts.connection()).credential);
      try {
        const legacy = await client.status({ vmId: hosts.vmId, diskId: hosts.vmId, generation: 1, sequence: 9 }).then(() => undefined, (error: unknown) => error);
        assert.ok(legacy instanceof TransportError && legacy.code === 'ERR_REPLICATION_REMOVED', String(legacy));
        assert.match((legacy as Error).message, /named no relationship.*upgrade it first/);
      } finally {
        await client.close();
      }
      assert.deepEqual(await snapshot(hosts.replicaState, hosts.storageLocation), before);

      // The primary's administrator removes its end too and enables again: a new initial replication. A cycle
      // holds the VM's cycle lock meanwhile (here this process): the removal stops it and waits, and only then
      // forgets the position, which the cycle saves on its way out.
      const statePath = primaryStateFile(hosts.primaryState, hosts.vmId);
      const position = await readFile(statePath);
      const { result: removedOnPrimary, cancelSeen } = await whileCycleInFlight(cycleLockFile(hosts.primaryState, hosts.vmId), statePath, () =>
        on(hosts, 'primary', 'replication', 'remove', '--vm-name=vm1'),
      );
      assert.equal(removedOnPrimary.code, 0, JSON.stringify(removedOnPrimary.json));
      assert.ok(cancelSeen, 'the removal asked the cycle to stop');
      assert.ok(!existsSync(statePath), 'and forgot the position after the cycle let go');
      // A position saved anyway (a cycle that began before the removal and took the lock after it) is not the new relationship's.
      await writeFile(statePath, position);
      const enabled = await enable(hosts);
      assert.equal(enabled.code, 0, JSON.stringify(enabled.json));
      assert.equal((await cycle(hosts)).Kind, 'initial', 'a new relationship starts with a full copy');
      await hosts.workload(['--seed=45', '--bytes=1MiB']);
      const again = await cycle(hosts);
      assert.equal(again.Kind, 'delta');
      const [replica] = await ok(hosts, 'replica', 'replication', 'get', '--vm-name=vm1');
      assert.deepEqual([replica!.ReplicationMode, replica!.ReplicationState], ['Replica', 'Replicating']);
      await hosts.server!.stop();
      await hosts.verifyReplica(again.ReferencePoint);
      assert.deepEqual(await vmHashes(hosts.replicaState, 'vm1'), want, 'the kept VM is untouched by the new relationship');
      // Removing the new relationship on the replica would keep a second VM of the same id: refused, naming the
      // earlier one, before anything changes (the primary still replicates).
      assert.match(
        await refused(hosts, 'replica', 4, 'ERR_ALREADY_EXISTS', 'replication', 'remove', '--vm-name=vm1'),
        /kept-replicas.* holds the VM 'vm1' kept by an earlier removal .*remove that VM from this host/,
      );
      await hosts.startServer();
      await hosts.workload(['--seed=46', '--bytes=1MiB']);
      assert.equal((await cycle(hosts)).Kind, 'delta', 'the refused removal left the relationship replicating');
    } finally {
      await hosts.dispose();
    }
  });

  it('a removal that stopped after the registration went is finished by running it again: the VM kept, the storage gone, one tombstone entry', async () => {
    const hosts = await TwoHosts.create({ disks: [4 * MiB], recoveryHistory: 4 });
    try {
      await hosts.startServer();
      await hosts.workload(['--seed=71', '--bytes=2MiB']);
      await cycle(hosts);
      await hosts.workload(['--seed=72', '--bytes=1MiB']);
      const last = await cycle(hosts);
      const want = hosts.expected.get(last.ReferencePoint)!;
      await hosts.server!.stop();
      const registered = await new VmRegistry(hosts.replicaState).get(hosts.vmId);
      assert.ok(registered && existsSync(registered.Path), 'the server registered the replica storage under its storage location');

      const site = new SiteFailingAfterRegistryRemove({ name: 'replica.e2e.test', stateDir: hosts.replicaState });
      await assert.rejects(removeReplica(site, hosts.vmId), /injected/);
      assert.equal(await new VmRegistry(hosts.replicaState).get(hosts.vmId), undefined, 'the registration is gone');
      assert.ok(!existsSync(hosts.replicaDir), 'the storage folder went before the registration');
      assert.ok(existsSync(join(hosts.replicaState, 'kept-replicas', hosts.vmId, 'kept.json')), 'the VM was kept');

      // Run again (the CLI, as the administrator would): it finishes, keeping the same VM, and asks nobody to delete it.
      const [removed] = await ok(hosts, 'replica', 'replication', 'remove', '--vm-name=vm1');
      assert.equal(removed!.VMName, 'vm1');
      assert.deepEqual(await vmHashes(hosts.replicaState, 'vm1'), want, 'the kept VM holds the last acknowledged cycle');
      const kept = await new FileHost({ root: join(hosts.replicaState, 'vms') }).getVm('vm1');
      assert.deepEqual([kept.isReplica, kept.state], [false, 'off']);
      assert.ok(!existsSync(hosts.replicaDir) && !existsSync(join(hosts.replicaState, 'replica', hosts.vmId)));
      assert.deepEqual(await ok(hosts, 'replica', 'replication', 'get', '--vm-name=*'), [], 'the relationship is gone');
      const entries = await new RemovedRelationships(hosts.replicaState).list(hosts.vmId);
      assert.deepEqual(entries.map((e) => [e.RelationshipId, e.RegisteredAt]), [[registered.RelationshipId, registered.CreatedAt]], 'one tombstone entry, naming the registration');
      assert.match(await refused(hosts, 'replica', 4, 'ERR_REPLICATION_NOT_ENABLED', 'replication', 'remove', '--vm-name=vm1'), /already removed on this host/);
      // Found by the relationship's name, not by a VM of this host: still said once the kept VM is deleted.
      await new FileHost({ root: join(hosts.replicaState, 'vms') }).unregisterVm('vm1', { force: true });
      assert.match(await refused(hosts, 'replica', 4, 'ERR_REPLICATION_NOT_ENABLED', 'replication', 'remove', '--vm-name=vm1'), /already removed on this host at .*was kept as an ordinary VM/);
      // The old primary is refused.
      await hosts.startServer();
      await hosts.workload(['--seed=73', '--bytes=1MiB']);
      assert.equal((await hosts.replicate()).json.error?.code, 'ERR_REPLICATION_REMOVED');
    } finally {
      await hosts.dispose();
    }
  });

  it('of a failed-over replica: refused while a test failover runs or the failover waits for completion, then keeps the failed-over VM', async () => {
    const hosts = await TwoHosts.create({ disks: [4 * MiB], recoveryHistory: 4 });
    try {
      await hosts.startServer();
      await hosts.workload(['--seed=51', '--bytes=2MiB']);
      await cycle(hosts);
      await hosts.workload(['--seed=52', '--bytes=1MiB']);
      const last = await cycle(hosts);
      const want = hosts.expected.get(last.ReferencePoint)!;

      await ok(hosts, 'replica', 'failover', 'start', '--vm-name=vm1', '--as-test');
      assert.match(await refused(hosts, 'replica', 4, 'ERR_INVALID_STATE', 'replication', 'remove', '--vm-name=vm1'), /test failover of VM 'vm1' is running .*stop it first/);
      await ok(hosts, 'replica', 'failover', 'stop', '--vm-name=vm1');
      await ok(hosts, 'replica', 'failover', 'start', '--vm-name=vm1');
      assert.match(await refused(hosts, 'replica', 4, 'ERR_INVALID_STATE', 'replication', 'remove', '--vm-name=vm1'), /waits for completion .*complete the failover/);
      await ok(hosts, 'replica', 'failover', 'complete', '--vm-name=vm1');

      const [removed] = await ok(hosts, 'replica', 'replication', 'remove', '--vm-name=vm1');
      assert.deepEqual([removed!.ReplicationMode, removed!.ReplicationState], ['Replica', 'FailedOver']);
      assert.deepEqual(await vmHashes(hosts.replicaState, 'vm1'), want, 'the failed-over VM stays as it is');
      assert.deepEqual(await ok(hosts, 'replica', 'replication', 'get', '--vm-name=*'), []);
      const refusedCycle = await hosts.replicate();
      assert.equal(refusedCycle.json.error?.code, 'ERR_REPLICATION_REMOVED', JSON.stringify(refusedCycle.json));
      assert.match(refusedCycle.json.error!.message, REMOVED_MESSAGE);
    } finally {
      await hosts.dispose();
    }
  });

  it('extended: B cannot remove its replica while it extends it; C removes the extended replica and B is refused; B removes Extended, then Simple', async () => {
    const hosts = await ThreeHosts.create({ disks: [4 * MiB], frequencySec: 300, recoveryHistory: 2 });
    try {
      await hosts.startServers();
      await hosts.ab.workload(['--seed=61', '--bytes=2MiB']);
      await cycle(hosts.ab);
      const enabled = await hosts.enableExtended();
      assert.equal(enabled.code, 0, JSON.stringify(enabled.json));
      assert.equal((await hosts.replicateExtended()).code, 0);
      const { b } = await hosts.verifyExtended();
      const onB = (...args: string[]) => cli([...args, `--state-dir=${hosts.replicaState}`]);
      const onC = (...args: string[]) => cli([...args, `--state-dir=${hosts.extendedState}`]);

      const blocked = await onB('replication', 'remove', '--vm-name=vm1');
      assert.equal(blocked.json.error?.code, 'ERR_INVALID_STATE', JSON.stringify(blocked.json));
      assert.match(blocked.json.error!.message, /while this host extends it .*--replication-relationship-type Extended/);

      // A removal on C that stopped half-way left its folder (no kept.json): the next removal makes it again.
      const keptOnC = join(hosts.extendedState, 'kept-replicas', hosts.ab.vmId);
      await mkdir(join(keptOnC, 'disks'), { recursive: true });
      await writeFile(join(keptOnC, 'disks', 'left-by-an-interrupted-removal.avhdx'), 'x');
      // C: the extended replica goes (asked for as Extended, the relationship it belongs to), its VM stays.
      const removedOnC = await onC('replication', 'remove', '--vm-name=vm1', '--replication-relationship-type=Extended');
      assert.equal(removedOnC.code, 0, JSON.stringify(removedOnC.json));
      assert.equal((removedOnC.json.result as Array<Record<string, unknown>>)[0]!.ReplicationMode, 'ExtendedReplica');
      assert.deepEqual(await vmHashes(hosts.extendedState, 'vm1'), b.hashes, 'C keeps B\'s latest content');
      assert.ok(!existsSync(hosts.extendedDir));
      assert.ok(existsSync(join(keptOnC, 'kept.json')) && !existsSync(join(keptOnC, 'disks', 'left-by-an-interrupted-removal.avhdx')));

      await hosts.ab.workload(['--seed=62', '--bytes=1MiB']);
      await cycle(hosts.ab);
      const refusedExtended = await hosts.replicateExtended();
      assert.equal(refusedExtended.json.error?.code, 'ERR_REPLICATION_REMOVED', JSON.stringify(refusedExtended.json));
      assert.match(refusedExtended.json.error!.message, /replication of VM 'vm1' was removed on replica server extended\.e2e\.test .*--replication-relationship-type Extended/);
      assert.deepEqual(await vmHashes(hosts.extendedState, 'vm1'), b.hashes);

      // B: the extended relationship, then its own replica (kept at A's latest cycle).
      const removedExtended = await onB('replication', 'remove', '--vm-name=vm1', '--replication-relationship-type=Extended');
      assert.equal(removedExtended.code, 0, JSON.stringify(removedExtended.json));
      const latestOnB = await latestContent(hosts.ab.replicaDir);
      const removedOnB = await onB('replication', 'remove', '--vm-name=vm1');
      assert.equal(removedOnB.code, 0, JSON.stringify(removedOnB.json));
      assert.deepEqual(await vmHashes(hosts.replicaState, 'vm1'), latestOnB.hashes);
      const refusedAB = await hosts.ab.replicate();
      assert.equal(refusedAB.json.error?.code, 'ERR_REPLICATION_REMOVED', JSON.stringify(refusedAB.json));
    } finally {
      await hosts.dispose();
    }
  });
});
