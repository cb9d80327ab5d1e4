/**
 * A primary enabled with the CLI's own `replication enable`: before the failover library adopts the
 * relationship the failover commands see a record built from it (not stored); once adopted, the failover
 * state lives in the relationship file, so `replication get` shows PreparedForFailover and its cancel.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { enableReplication, replicateOnce } from '../../src/failover/replication.js';
import { createCertificateAuthority, createHostCertificate, FileCertificateStore } from '../../src/security/index.js';
import { guestWrites, newVm, storageContent, vmContent, world } from '../failover/helpers.js';
import { ok, refused } from './helpers.js';

it('failover start --prepare and stop on a relationship made by replication enable; replication get shows the states', async () => {
  const w = world('fcli-rel');
  try {
    const { a, b } = w;
    const vm = await newVm(a, 'web01');
    const ca = await createCertificateAuthority('test CA');
    const cert = await createHostCertificate(ca, [a.name]);
    const thumb = (await new FileCertificateStore(a.options.stateDir).importPem(cert.certificatePem, cert.privateKeyPem)).Thumbprint;
    const [enabled] = ok(a, 'replication', 'enable', '--vm-name=web01', `--replica-server-name=${b.name}`, '--replica-server-port=443', '--authentication-type=Certificate', `--certificate-thumbprint=${thumb}`);
    assert.equal(enabled!.ReplicationState, 'ReadyForInitialReplication');
    // Its record is built from the relationship (not stored yet): the state machine refuses a prepare before any cycle.
    assert.match(refused(a, 4, 'ERR_INVALID_STATE', 'failover', 'start', '--vm-name=web01', '--prepare'), /ReadyForInitialReplication/);

    await enableReplication(a, b, vm);
    await guestWrites(a, vm, 71);
    await replicateOnce(a, b, vm);
    const state = () => ok(a, 'replication', 'get', '--vm-name=web01').map((r) => [r.ReplicationMode, r.ReplicationState]);
    assert.deepEqual(state(), [['Primary', 'Replicating']]);

    await guestWrites(a, vm, 72);
    await a.host.stopVm(vm);
    const [prepared] = ok(a, 'failover', 'start', '--vm-name=web01', '--prepare', `--peer-state-dir=${b.options.stateDir}`);
    assert.equal(prepared!.ReplicationState, 'PreparedForFailover');
    assert.equal(prepared!.ReplicationHealth, 'Normal');
    assert.deepEqual(state(), [['Primary', 'PreparedForFailover']]);
    assert.deepEqual(await storageContent(b, vm), await vmContent(a, vm), 'the prepare shipped the last changes to the replica');

    const [stopped] = ok(a, 'failover', 'stop', '--vm-name=web01');
    assert.equal(stopped!.StoppedOperation, 'prepare-cancelled');
    assert.deepEqual(state(), [['Primary', 'Replicating']]);
  } finally {
    w.cleanup();
  }
});
