/**
 * The replica server's tombstones of relationships removed on it (src/replica/removed-relationships.ts):
 * which requests they refuse, and that the registry refuses to register a removed VM anew for them. The
 * whole flow over the network is test/failover-net/remove-on-replica.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RemovedRelationships, type RegistrationIdentity, type RemovedRelationship } from '../../src/replica/removed-relationships.js';
import { FailoverSite } from '../../src/failover/site.js';
import { parseReplicaVmDefinition } from '../../src/protocol/index.js';
import { ReplicaRecords } from '../../src/replica/replica-records.js';
import { VmRegistry } from '../../src/replica/vm-registry.js';

const VM = '6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b';
const OLD = 'a'.repeat(32);
const NEW = 'b'.repeat(32);
const entry = { AllowedPrimaryServer: 'primary.contoso.com', ReplicaStorageLocation: '/replicas', TrustGroup: 'blue' };

function removal(id: string | null, type: 'Simple' | 'Extended' = 'Simple'): RemovedRelationship {
  return { RelationshipId: id, VMName: 'web1', RelationshipType: type, PrimaryServerName: 'primary.contoso.com', ReplicaServerName: 'replica.contoso.com', RemovedAt: '2026-12-07T11:00:00.000Z' };
}

async function withState<T>(body: (stateDir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'hvr-removed-'));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const held = (value: boolean) => async () => value;
const registration = (value: RegistrationIdentity | undefined) => async () => value;
const REGISTERED = '2026-12-07T10:00:00.000Z';
const LATER = '2026-12-07T12:00:00.000Z';

describe('removed relationships', () => {
  it('refuses nothing for a VM never removed', () =>
    withState(async (stateDir) => {
      const removed = new RemovedRelationships(stateDir);
      assert.equal(await removed.refusal(VM, undefined, held(false), 'continue'), undefined);
      assert.equal(await removed.refusal(VM, OLD, held(true), 'define'), undefined);
    }));

  it('refuses the removed relationship whatever it asks, and requests naming none, but lets another one start', () =>
    withState(async (stateDir) => {
      const removed = new RemovedRelationships(stateDir);
      await removed.add(VM, removal(OLD));
      for (const purpose of ['define', 'continue'] as const) {
        const error = await removed.refusal(VM, OLD, held(true), purpose);
        assert.equal(error?.code, 'ERR_REPLICATION_REMOVED');
        assert.match(error!.message, /replication of VM 'web1' was removed on replica server replica\.contoso\.com at 2026-12-07T11:00:00\.000Z.*On the primary \(primary\.contoso\.com\): remove the relationship too \(hvreplica replication remove --vm-name web1/);
        assert.doesNotMatch(error!.message, /upgrade/);
        assert.match((await removed.refusal(VM, undefined, held(true), purpose))!.message, /named no relationship: if primary\.contoso\.com runs an hvreplica older than this server, upgrade it first; a relationship enabled there before relationship ids existed must then be removed and enabled again/);
      }
      // A relationship enabled again: its definition starts a replica; until then it has none to go on with.
      assert.equal(await removed.refusal(VM, NEW, held(false), 'define'), undefined);
      assert.equal((await removed.refusal(VM, NEW, held(false), 'continue'))?.code, 'ERR_REPLICATION_REMOVED');
      assert.equal(await removed.refusal(VM, NEW, held(true), 'continue'), undefined);
      // Under the storage lock: the registration of the new relationship goes on; none, refused.
      assert.equal(await removed.removedMeanwhile(VM, registration({ CreatedAt: LATER, RelationshipId: NEW })), undefined);
      assert.equal((await removed.removedMeanwhile(VM, registration(undefined)))?.code, 'ERR_REPLICATION_REMOVED');
    }));

  it('refuses, under the storage lock, work on a registration its tombstone removes though the registration is not deleted yet', () =>
    withState(async (stateDir) => {
      // Between a removal's tombstone and its deleting the registration, a log admitted before the tombstone
      // reaches the storage: it must be refused there, not stored (so acknowledged to the primary).
      const removed = new RemovedRelationships(stateDir);
      await removed.add(VM, { ...removal(OLD), RegisteredAt: REGISTERED });
      assert.equal((await removed.removedMeanwhile(VM, registration({ CreatedAt: REGISTERED, RelationshipId: OLD })))?.code, 'ERR_REPLICATION_REMOVED');
      // The very registration though it named no relationship yet, or a relationship from before ids.
      assert.equal((await removed.removedMeanwhile(VM, registration({ CreatedAt: REGISTERED })))?.code, 'ERR_REPLICATION_REMOVED');
      await removed.add(VM, { ...removal(null), RemovedAt: LATER });
      assert.equal((await removed.removedMeanwhile(VM, registration({ CreatedAt: LATER })))?.code, 'ERR_REPLICATION_REMOVED');
      // Another relationship's registration (enabled again) goes on.
      assert.equal(await removed.removedMeanwhile(VM, registration({ CreatedAt: LATER, RelationshipId: NEW })), undefined);
      // A rerun of a removal adds no second entry for it.
      await removed.add(VM, { ...removal(OLD), RegisteredAt: REGISTERED });
      assert.deepEqual((await removed.list(VM)).map((r) => r.RelationshipId), [OLD, null]);
    }));

  it('a log reaching the storage between a removal\'s tombstone and its deleting the registration is refused, not stored', () =>
    withState(async (stateDir) => {
      const registry = new VmRegistry(stateDir);
      const registered = await registry.open(VM, entry, 'primary.contoso.com', { id: OLD, replace: true });
      const records = new ReplicaRecords({ stateDir, serverName: 'replica.contoso.com' });
      await records.receiving(VM, 'primary.contoso.com');
      // The removal wrote its tombstone; it has not got to the registration yet (it keeps the VM first).
      await new RemovedRelationships(stateDir).add(VM, { ...removal(OLD), RegisteredAt: registered.CreatedAt });
      await assert.rejects(records.receiving(VM, 'primary.contoso.com'), { code: 'ERR_REPLICATION_REMOVED' });
    }));

  it('a new relationship\'s definition does not inherit a removal that stopped after the registration went', () =>
    withState(async (stateDir) => {
      const records = new ReplicaRecords({ stateDir, serverName: 'replica.contoso.com' });
      const definition = parseReplicaVmDefinition({
        FormatVersion: 1, VMId: VM, VMName: 'web1', Disks: [{ DiskId: VM, VirtualSize: 1 << 20, LogicalSectorSize: 512 }], RecoveryHistory: 4, VSSSnapshotFrequencyHour: 0, ReplicationFrequencySec: 300, 
        Configuration: { id: VM, name: 'web1', generation: 2, processorCount: 1, memoryBytes: 1 << 30, networkAdapters: [], disks: [{ id: VM, virtualSize: 1 << 20, logicalSectorSize: 512, location: 'c:\\web1.vhdx' }] },
      });
      await records.define(definition, 'primary.contoso.com');
      const site = new FailoverSite({ name: 'replica.contoso.com', stateDir });
      await site.store.modify(VM, (r) => ({ ...r, state: 'Replicating', removal: { RemovedAt: '2026-12-07T11:00:00.000Z', StoragePath: '/replicas/hvreplica/old' } }));
      const again = await records.define(definition, 'primary.contoso.com');
      assert.equal(again.removal, undefined);
      assert.equal(again.state, 'WaitingForInitialReplication', 'a new replica, waiting for its initial replication');
    }));

  it('names the extended relationship to remove on the sender when the extended replica was removed', () =>
    withState(async (stateDir) => {
      const removed = new RemovedRelationships(stateDir);
      await removed.add(VM, removal(null, 'Extended'));
      const error = await removed.refusal(VM, OLD, held(false), 'continue');
      assert.match(error!.message, /On the replica server that extends it \(primary\.contoso\.com\): .*--replication-relationship-type Extended/);
    }));

  it('keeps every removal of a VM removed and enabled again', () =>
    withState(async (stateDir) => {
      const removed = new RemovedRelationships(stateDir);
      await removed.add(VM, removal(OLD));
      await removed.add(VM, removal(NEW));
      assert.deepEqual((await removed.list(VM)).map((r) => r.RelationshipId), [OLD, NEW]);
      assert.equal((await removed.refusal(VM, OLD, held(true), 'continue'))?.code, 'ERR_REPLICATION_REMOVED');
    }));

  it('the registry registers a removed VM anew only for another relationship\'s definition, and records its id', () =>
    withState(async (stateDir) => {
      const registry = new VmRegistry(stateDir);
      await registry.open(VM, entry, 'primary.contoso.com', { id: OLD, replace: true });
      assert.equal((await registry.get(VM))?.RelationshipId, OLD);
      await new RemovedRelationships(stateDir).add(VM, removal(OLD));
      await registry.remove(VM);
      await assert.rejects(registry.open(VM, entry, 'primary.contoso.com', { id: OLD, replace: true }), { code: 'ERR_REPLICATION_REMOVED' });
      await assert.rejects(registry.open(VM, entry, 'primary.contoso.com', { id: NEW, replace: false }), { code: 'ERR_REPLICATION_REMOVED' });
      await assert.rejects(registry.open(VM, entry, 'primary.contoso.com'), { code: 'ERR_REPLICATION_REMOVED' });
      assert.equal(await registry.get(VM), undefined, 'nothing registered by the refused requests');
      await registry.open(VM, entry, 'primary.contoso.com', { id: NEW, replace: true });
      assert.equal((await registry.get(VM))?.RelationshipId, NEW);
    }));

  it('the registry adopts the first id named for a VM registered without one, and only a definition replaces it', () =>
    withState(async (stateDir) => {
      const registry = new VmRegistry(stateDir);
      await registry.open(VM, entry, 'primary.contoso.com');
      assert.equal((await registry.get(VM))?.RelationshipId, undefined);
      await registry.open(VM, entry, 'primary.contoso.com', { id: OLD, replace: false });
      assert.equal((await registry.get(VM))?.RelationshipId, OLD);
      await registry.open(VM, entry, 'primary.contoso.com', { id: NEW, replace: false });
      assert.equal((await registry.get(VM))?.RelationshipId, OLD);
      await registry.open(VM, entry, 'primary.contoso.com', { id: NEW, replace: true });
      assert.equal((await registry.get(VM))?.RelationshipId, NEW);
    }));
});
