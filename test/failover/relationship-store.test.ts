/**
 * A relationship enabled through src/relationship/ (what `hvreplica replication enable` writes) carries
 * the failover record inside the same file: its ReplicationState/ReplicationMode are the machine's, so
 * Get-HvrVMReplication shows every transition, and a reverse swaps the servers in it.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isFailoverError } from '../../src/failover/errors.js';
import { prepareFailover, startFailover } from '../../src/failover/failover.js';
import type { RelationshipWithFailover } from '../../src/failover/record.js';
import { enableReplication, replicateOnce } from '../../src/failover/replication.js';
import { reverseReplication } from '../../src/failover/reverse.js';
import { enableRelationship, RelationshipStore } from '../../src/relationship/index.js';
import { guestWrites, newVm, storageContent, vmContent, world } from './helpers.js';

it('adopts a CLI-enabled relationship and keeps its ReplicationState in step with every transition', async () => {
  const w = world('failover-relationship');
  try {
    const { a, b } = w;
    const vm = await newVm(a);
    const description = await a.host.getVm(vm);
    const relationships = new RelationshipStore(a.options.stateDir);
    const rel = enableRelationship(
      { id: vm, name: description.name, isReplica: false, disks: description.disks.map((d) => ({ Path: d.basePath, ControllerType: 'SCSI' as const, ControllerNumber: 0, ControllerLocation: 0 })) },
      { ReplicaServerName: b.name, ReplicaServerPort: 443, AuthenticationType: 'Certificate', CertificateThumbprint: 'C0FFEE'.padEnd(40, '0'), ReplicationFrequencySec: 30 },
      { primaryServerName: a.name, now: new Date('2026-11-25T12:00:00Z') },
    );
    await relationships.update(vm, () => ({ next: rel, result: undefined }));
    await assert.rejects(enableReplication(a, w.c, vm), (e: unknown) => isFailoverError(e, 'ERR_INVALID_ARGUMENT') && /enabled towards hv-b/.test(e.message));

    const enabled = await enableReplication(a, b, vm);
    assert.equal(enabled.primary.replicationFrequencySec, 30, "the relationship's settings hold");
    const read = async () => (await relationships.get(vm)) as RelationshipWithFailover;
    assert.equal((await read()).ReplicationState, 'ReadyForInitialReplication');
    assert.equal((await read()).CertificateThumbprint, rel.CertificateThumbprint, 'fields failover does not own are kept');

    await guestWrites(a, vm, 71);
    await replicateOnce(a, b, vm);
    let onDisk = await read();
    assert.equal(onDisk.ReplicationState, 'Replicating');
    assert.ok(onDisk.LastReplicationTime);
    assert.deepEqual(onDisk.Failover?.history.map((h) => h.to), ['ReadyForInitialReplication', 'InitialReplicationInProgress', 'Replicating']);

    await a.host.stopVm(vm);
    await prepareFailover(a, b, vm);
    assert.equal((await read()).ReplicationState, 'PreparedForFailover');
    await startFailover(b, vm);
    await reverseReplication(b, a, vm);
    onDisk = await read();
    assert.deepEqual([onDisk.ReplicationMode, onDisk.ReplicationState, onDisk.PrimaryServerName, onDisk.ReplicaServerName], ['Replica', 'Replicating', b.name, a.name]);
    assert.deepEqual(await storageContent(a, vm), await vmContent(b, vm));

    // Dropping the failover part leaves the relationship itself alone.
    await a.store.update(vm, () => ({ next: undefined, result: undefined }));
    onDisk = await read();
    assert.equal(onDisk.Failover, undefined);
    assert.equal(onDisk.VMId, vm);
  } finally {
    w.cleanup();
  }
});

it('refuses to adopt a relationship that already replicates through the replica server', async () => {
  const w = world('failover-relationship-busy');
  try {
    const { a, b } = w;
    const vm = await newVm(a);
    const description = await a.host.getVm(vm);
    const rel = enableRelationship(
      { id: vm, name: description.name, isReplica: false, disks: description.disks.map((d) => ({ Path: d.basePath, ControllerType: null, ControllerNumber: null, ControllerLocation: null })) },
      { ReplicaServerName: b.name, ReplicaServerPort: 443, AuthenticationType: 'Certificate', CertificateThumbprint: 'C0FFEE'.padEnd(40, '0') },
      { primaryServerName: a.name, now: new Date('2026-11-25T12:00:00Z') },
    );
    await new RelationshipStore(a.options.stateDir).update(vm, () => ({ next: { ...rel, ReplicationState: 'Replicating' as const }, result: undefined }));
    await assert.rejects(enableReplication(a, b, vm), (e: unknown) => isFailoverError(e, 'ERR_INVALID_STATE') && /already replicates \(Replicating\)/.test(e.message));
  } finally {
    w.cleanup();
  }
});
