import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { addEntry, applyServerChanges, DEFAULT_SERVER_CONFIG, makeEntry, ReplicaConfigStore, ReplicaError, type ReplicaServerConfig, type ServerSettingsChanges } from '../../src/replica/index.js';

const THUMB = 'ab'.repeat(20);
const base = (): ReplicaServerConfig => ({ ...DEFAULT_SERVER_CONFIG, AuthorizationEntries: [] });

function refusal(config: ReplicaServerConfig, changes: ServerSettingsChanges): ReplicaError {
  try {
    applyServerChanges(config, changes);
  } catch (error) {
    assert.ok(error instanceof ReplicaError);
    return error;
  }
  assert.fail('expected a refusal');
}

describe('replica server settings (Set-VMReplicationServer rules)', () => {
  it('has Hyper-V defaults', () => {
    assert.deepEqual(base(), {
      ReplicationEnabled: false,
      AllowedAuthenticationType: null,
      KerberosAuthenticationPort: 80,
      CertificateAuthenticationPort: 443,
      CertificateThumbprint: null,
      MonitoringInterval: 43200,
      MonitoringStartTime: 32400,
      AuthorizationEntries: [],
    });
  });

  it('enabling needs Certificate and a thumbprint; Kerberos is refused as unsupported', () => {
    assert.match(refusal(base(), { ReplicationEnabled: true }).message, /allowed-authentication-type/);
    assert.match(refusal(base(), { ReplicationEnabled: true, AllowedAuthenticationType: 'Certificate' }).message, /certificate-thumbprint/);
    assert.equal(refusal(base(), { ReplicationEnabled: true, AllowedAuthenticationType: 'Kerberos' }).code, 'ERR_NOT_SUPPORTED');
    assert.equal(refusal(base(), { AllowedAuthenticationType: 'CertificateAndKerberos' }).code, 'ERR_NOT_SUPPORTED');
    const on = applyServerChanges(base(), { ReplicationEnabled: true, AllowedAuthenticationType: 'Certificate', CertificateThumbprint: 'AB ab'.repeat(10).replaceAll(' ', '') });
    assert.equal(on.CertificateThumbprint, THUMB.toUpperCase());
    const off = applyServerChanges(on, { ReplicationEnabled: false });
    assert.equal(off.AllowedAuthenticationType, null);
    assert.equal(off.CertificateThumbprint, null);
  });

  it('validates ports, monitoring interval and start time, thumbprints', () => {
    assert.equal(refusal(base(), { CertificateAuthenticationPort: 0 }).code, 'ERR_INVALID_ARGUMENT');
    assert.equal(refusal(base(), { CertificateAuthenticationPort: 65536 }).code, 'ERR_INVALID_ARGUMENT');
    assert.equal(refusal(base(), { MonitoringInterval: 3599 }).code, 'ERR_INVALID_ARGUMENT');
    assert.equal(refusal(base(), { MonitoringInterval: 604801 }).code, 'ERR_INVALID_ARGUMENT');
    assert.equal(refusal(base(), { MonitoringStartTime: 86400 }).code, 'ERR_INVALID_ARGUMENT');
    assert.equal(refusal(base(), { CertificateThumbprint: 'xyz' }).code, 'ERR_INVALID_ARGUMENT');
    assert.equal(refusal(base(), { CertificateAuthenticationPortMapping: { 'a.b.c': 1 } }).code, 'ERR_NOT_SUPPORTED');
    const ok = applyServerChanges(base(), { CertificateAuthenticationPort: 8443, MonitoringInterval: 3600, MonitoringStartTime: 0 });
    assert.equal(ok.KerberosAuthenticationPort, 80, 'ports not given are left unchanged');
    assert.equal(ok.CertificateAuthenticationPort, 8443);
  });

  it('any-server replication is the * entry with trust group DEFAULT and needs a storage location', () => {
    assert.match(refusal(base(), { ReplicationAllowedFromAnyServer: true }).message, /default-storage-location/);
    assert.equal(refusal(base(), { DefaultStorageLocation: '/srv/r' }).code, 'ERR_INVALID_ARGUMENT');
    const any = applyServerChanges(base(), { ReplicationAllowedFromAnyServer: true, DefaultStorageLocation: '/srv/r' });
    assert.deepEqual(any.AuthorizationEntries, [{ AllowedPrimaryServer: '*', ReplicaStorageLocation: '/srv/r', TrustGroup: 'DEFAULT' }]);
    const moved = applyServerChanges(any, { DefaultStorageLocation: '/srv/other' });
    assert.equal(moved.AuthorizationEntries[0]?.ReplicaStorageLocation, '/srv/other');
    assert.deepEqual(applyServerChanges(any, { ReplicationAllowedFromAnyServer: false }).AuthorizationEntries, []);
  });

  it('replacing specific entries by * needs --force', () => {
    const specific = { ...base(), AuthorizationEntries: addEntry([], makeEntry('hv1.contoso.com', '/srv/a', 'g')) };
    const error = refusal(specific, { ReplicationAllowedFromAnyServer: true, DefaultStorageLocation: '/srv/r' });
    assert.equal(error.code, 'ERR_INVALID_STATE');
    assert.equal(error.exitCode, 4);
    const forced = applyServerChanges(specific, { ReplicationAllowedFromAnyServer: true, DefaultStorageLocation: '/srv/r', Force: true });
    assert.deepEqual(forced.AuthorizationEntries.map((e) => e.AllowedPrimaryServer), ['*']);
  });

  it('persists atomically and refuses a damaged state file clearly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hvr-settings-'));
    try {
      const store = new ReplicaConfigStore(dir);
      await store.update((c) => ({ config: applyServerChanges(c, { MonitoringInterval: 7200 }), result: undefined }));
      assert.equal((await store.load()).MonitoringInterval, 7200);
      await assert.rejects(store.update(() => { throw new ReplicaError('ERR_INVALID_ARGUMENT', 'no'); }), /no/);
      assert.equal(JSON.parse(await readFile(store.path, 'utf8')).MonitoringInterval, 7200, 'a refused change leaves the file as it was');
      await writeFile(store.path, '{"ReplicationEnabled": tru');
      await assert.rejects(store.load(), (e: ReplicaError) => e.code === 'ERR_CORRUPT_STATE' && /not valid JSON/.test(e.message));
      await writeFile(store.path, '{"ReplicationEnabled": "yes"}');
      await assert.rejects(store.load(), (e: ReplicaError) => e.code === 'ERR_CORRUPT_STATE');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
