import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './run-cli.js';

describe('hvreplica server / auth (--json contract)', () => {
  let dir: string;
  let state: string[];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hvr-cli-'));
    state = ['--state-dir', join(dir, 'state')];
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('server get shows Hyper-V defaults in the contract shape', async () => {
    const run = await runCli(['server', 'get', ...state]);
    assert.equal(run.exitCode, 0);
    assert.equal(run.json.schemaVersion, 1);
    assert.equal(run.json.command, 'server get');
    const r = run.json.result as Record<string, unknown>;
    assert.deepEqual(Object.keys(r).sort(), [
      'AllowedAuthenticationType', 'AuthorizationEntries', 'CertificateAuthenticationPort', 'CertificateAuthenticationPortMapping', 'CertificateThumbprint',
      'ComputerName', 'DefaultStorageLocation', 'KerberosAuthenticationPort', 'KerberosAuthenticationPortMapping', 'MonitoringInterval', 'MonitoringStartTime',
      'OperationalStatus', 'ReplicationAllowedFromAnyServer', 'ReplicationEnabled', 'StatusDescriptions',
    ]);
    assert.equal(r.ReplicationEnabled, false);
    assert.equal(r.AllowedAuthenticationType, null);
    assert.equal(r.CertificateAuthenticationPort, 443);
    assert.equal(r.MonitoringInterval, 43200);
    assert.equal(r.MonitoringStartTime, 32400);
    assert.deepEqual(r.OperationalStatus, ['Ok']);
  });

  it('auth add, list, set and remove', async () => {
    const add = await runCli(['auth', 'add', '--allowed-primary-server=HV1.Contoso.com', `--replica-storage-location=${join(dir, 'r1')}`, '--trust-group=tenant-a', ...state]);
    assert.equal(add.exitCode, 0, add.stderr);
    assert.deepEqual(Object.keys(add.json.result as object).sort(), ['AllowedPrimaryServer', 'ComputerName', 'ReplicaStorageLocation', 'TrustGroup']);
    assert.equal((add.json.result as { AllowedPrimaryServer: string }).AllowedPrimaryServer, 'hv1.contoso.com');
    await runCli(['auth', 'add', '--allowed-primary-server=*.fabrikam.com', `--replica-storage-location=${join(dir, 'r2')}`, '--trust-group=tenant-b', ...state]);

    const dup = await runCli(['auth', 'add', '--allowed-primary-server=hv1.contoso.com', `--replica-storage-location=${join(dir, 'r1')}`, '--trust-group=x', ...state]);
    assert.equal(dup.exitCode, 4);
    assert.equal(dup.json.ok, false);
    assert.equal(dup.json.error?.code, 'ERR_ALREADY_EXISTS');

    const ip = await runCli(['auth', 'add', '--allowed-primary-server=10.1.2.3', `--replica-storage-location=${join(dir, 'r1')}`, '--trust-group=x', ...state]);
    assert.equal(ip.exitCode, 2);
    assert.match(ip.json.error!.message, /IP addresses are not accepted/);

    const list = await runCli(['auth', 'list', '--trust-group=TENANT-B', ...state]);
    assert.deepEqual((list.json.result as { AllowedPrimaryServer: string }[]).map((e) => e.AllowedPrimaryServer), ['*.fabrikam.com']);

    const set = await runCli(['auth', 'set', '--allowed-primary-server=hv1.contoso.com', '--trust-group=tenant-c', ...state]);
    assert.equal((set.json.result as { TrustGroup: string }).TrustGroup, 'tenant-c');

    const missing = await runCli(['auth', 'set', '--allowed-primary-server=nobody.contoso.com', '--trust-group=x', ...state]);
    assert.equal(missing.exitCode, 3);

    const both = await runCli(['auth', 'remove', '--allowed-primary-server=hv1.contoso.com', '--trust-group=tenant-c', ...state]);
    assert.equal(both.exitCode, 2);

    const removed = await runCli(['auth', 'remove', '--trust-group=tenant-c', ...state]);
    assert.deepEqual((removed.json.result as { AllowedPrimaryServer: string }[]).map((e) => e.AllowedPrimaryServer), ['hv1.contoso.com']);
    const after = await runCli(['server', 'get', ...state]);
    assert.equal((after.json.result as { AuthorizationEntries: unknown[] }).AuthorizationEntries.length, 1);
  });

  it('server set enforces Hyper-V rules and exit codes', async () => {
    const noAuth = await runCli(['server', 'set', '--replication-enabled=true', ...state]);
    assert.equal(noAuth.exitCode, 2);
    const kerberos = await runCli(['server', 'set', '--replication-enabled=true', '--allowed-authentication-type=Kerberos', ...state]);
    assert.equal(kerberos.exitCode, 7);
    assert.equal(kerberos.json.error?.code, 'ERR_NOT_SUPPORTED');
    const unknownCert = await runCli(['server', 'set', '--replication-enabled=true', '--allowed-authentication-type=Certificate', `--certificate-thumbprint=${'A'.repeat(40)}`, ...state]);
    assert.equal(unknownCert.exitCode, 3);
    assert.match(unknownCert.json.error!.message, /cert list/);
    const anyNoForce = await runCli(['server', 'set', '--replication-allowed-from-any-server=true', `--default-storage-location=${join(dir, 'any')}`, ...state]);
    assert.equal(anyNoForce.exitCode, 4);
    const anyForce = await runCli(['server', 'set', '--replication-allowed-from-any-server=true', `--default-storage-location=${join(dir, 'any')}`, '--force', ...state]);
    assert.equal(anyForce.exitCode, 0);
    const r = anyForce.json.result as { ReplicationAllowedFromAnyServer: boolean; DefaultStorageLocation: string; AuthorizationEntries: { TrustGroup: string }[] };
    assert.equal(r.ReplicationAllowedFromAnyServer, true);
    assert.equal(r.DefaultStorageLocation, join(dir, 'any'));
    assert.deepEqual(r.AuthorizationEntries.map((e) => e.TrustGroup), ['DEFAULT']);
    const ports = await runCli(['server', 'set', '--certificate-authentication-port=8443', '--monitoring-interval=7200', ...state]);
    assert.equal((ports.json.result as { CertificateAuthenticationPort: number }).CertificateAuthenticationPort, 8443);
    const badInterval = await runCli(['server', 'set', '--monitoring-interval=60', ...state]);
    assert.equal(badInterval.exitCode, 2);
  });
});
