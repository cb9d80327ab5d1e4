import 'reflect-metadata';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createCertificateAuthority,
  createHostCertificate,
  credentialFromPem,
  FileCertificateStore,
  loadPfxCredential,
  SecurityError,
  type PemPair,
} from '../../src/security/index.js';

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: 'pipe' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') assert.fail('this test needs the openssl command to build a PFX: apt-get install openssl');
    throw error;
  }
}

describe('certificates for workgroup pairing', () => {
  let ca: PemPair;
  let dir: string;
  before(async () => {
    ca = await createCertificateAuthority('Pairing CA');
    dir = await mkdtemp(join(tmpdir(), 'hvr-certs-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('makes a CA and host certificates that chain to it, with the DNS name as SAN and both TLS usages', async () => {
    const host = await createHostCertificate(ca, ['hv1.lab.test', 'hv1']);
    const cert = new X509Certificate(host.certificatePem);
    const root = new X509Certificate(ca.certificatePem);
    assert.ok(root.ca);
    assert.ok(!cert.ca);
    assert.ok(cert.checkIssued(root));
    assert.ok(cert.verify(root.publicKey));
    assert.equal(cert.subjectAltName, 'DNS:hv1.lab.test, DNS:hv1');
    assert.deepEqual(cert.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    const credential = credentialFromPem(host.certificatePem, host.privateKeyPem, [ca.certificatePem]);
    assert.deepEqual(credential.dnsNames, ['hv1.lab.test', 'hv1']);
    assert.match(credential.thumbprint, /^[0-9A-F]{40}$/);
  });

  it('refuses a key that does not belong to the certificate, and a CA key that is not one', async () => {
    const a = await createHostCertificate(ca, ['a.lab.test']);
    const b = await createHostCertificate(ca, ['b.lab.test']);
    assert.throws(() => credentialFromPem(a.certificatePem, b.privateKeyPem), (e: SecurityError) => e.code === 'ERR_CERTIFICATE' && /does not belong/.test(e.message));
    await assert.rejects(createHostCertificate({ certificatePem: ca.certificatePem, privateKeyPem: 'garbage' }, ['x.lab.test']), (e: SecurityError) => e.code === 'ERR_INVALID_ARGUMENT');
  });

  it('refuses an expired certificate', async () => {
    // Built with the library directly: hvreplica itself never makes certificates in the past.
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=old.lab.test',
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2020-02-01T00:00:00Z'),
      keys,
      signingAlgorithm: alg,
    });
    const key = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
    assert.throws(() => credentialFromPem(cert.toString('pem'), key), (e: SecurityError) => e.code === 'ERR_CERTIFICATE' && /expired/.test(e.message));
  });

  it('loads a PFX with its password and refuses a wrong password', async () => {
    const host = await createHostCertificate(ca, ['pfx.lab.test']);
    await writeFile(join(dir, 'h.crt'), host.certificatePem);
    await writeFile(join(dir, 'h.key'), host.privateKeyPem);
    openssl(['pkcs12', '-export', '-in', join(dir, 'h.crt'), '-inkey', join(dir, 'h.key'), '-out', join(dir, 'h.pfx'), '-passout', 'pass:s3cret']);
    const credential = await loadPfxCredential(join(dir, 'h.pfx'), 's3cret');
    assert.deepEqual(credential.dnsNames, ['pfx.lab.test']);
    assert.equal(credential.material.kind, 'pfx');
    await assert.rejects(loadPfxCredential(join(dir, 'h.pfx'), 'wrong'), (e: SecurityError) => e.code === 'ERR_INVALID_ARGUMENT' && /password/.test(e.message));
  });

  it('keeps certificates by thumbprint in the state directory', async () => {
    const store = new FileCertificateStore(join(dir, 'state'));
    const host = await createHostCertificate(ca, ['store.lab.test']);
    const mine = await store.importPem(host.certificatePem, host.privateKeyPem);
    const root = await store.trustRoot(ca.certificatePem);
    await assert.rejects(store.trustRoot(host.certificatePem), /not a certification authority/);
    const listed = await store.list();
    assert.deepEqual(listed.map((c) => [c.Store, c.Thumbprint]).sort(), [['My', mine.Thumbprint], ['Root', root.Thumbprint]].sort());
    const credential = await store.credential(mine.Thumbprint.toLowerCase());
    assert.deepEqual(credential.dnsNames, ['store.lab.test']);
    assert.deepEqual(credential.trustedRoots, [new X509Certificate(ca.certificatePem).toString()]);
    await assert.rejects(store.credential('00'.repeat(20)), (e: SecurityError) => e.code === 'ERR_NOT_FOUND' && /cert list/.test(e.message));
  });
});
