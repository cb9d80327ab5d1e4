// The Windows system certificate store in the win32 build, in Windows node.exe under Wine: a PFX imported
// into CurrentUser\My is found by thumbprint (also through the file store's fallback), exported with its
// key for node's TLS, and presented in a mutual TLS 1.3 handshake; bad input gets typed errors. Keys are
// RSA here because Wine's CryptoAPI imports only RSA keys from PKCS#12 (Windows takes ECDSA as well).
// On Linux the same store is ERR_NOT_SUPPORTED with the way out.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SystemCertificateStore } from '../../src/security/system-certificate-store.js';
import { tempDir } from '../helpers/paths.js';
import { runUnderWine, winPath } from '../helpers/wine.js';

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: 'pipe' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') assert.fail('this test needs the openssl command to build a PFX: apt-get install openssl');
    throw error;
  }
}

type Captured = { ok?: unknown; error?: { code: string; message: string; errno?: number } };

describe('Windows system certificate store', () => {
  const dir = tempDir('wine-certs');
  let outcome: Record<string, unknown>;
  let thumbprint: string;

  before(() => {
    const ext = join(dir.path, 'host.ext');
    writeFileSync(ext, 'subjectAltName=DNS:replica.wine.test\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=Wine Test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir.path);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'host.key', '-out', 'host.csr', '-subj', '/CN=replica.wine.test'], dir.path);
    openssl(['x509', '-req', '-in', 'host.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'host.crt', '-days', '30', '-extfile', ext], dir.path);
    openssl(['pkcs12', '-export', '-inkey', 'host.key', '-in', 'host.crt', '-out', 'host.pfx', '-passout', 'pass:pfx-secret', '-keypbe', 'AES-256-CBC', '-certpbe', 'AES-256-CBC', '-macalg', 'sha256'], dir.path);
    thumbprint = new X509Certificate(readFileSync(join(dir.path, 'host.crt'))).fingerprint.replaceAll(':', '');
    Object.assign(process.env, { HVR_WINE_PFX: winPath(join(dir.path, 'host.pfx')), HVR_WINE_CA: winPath(join(dir.path, 'ca.crt')), HVR_WINE_PFX_PASSWORD: 'pfx-secret' });
    outcome = runUnderWine({ script: 'security/wine-cert-store.js', timeoutMs: 180_000 }).outcome;
    assert.equal(outcome.failure, undefined, String(outcome.failure));
    assert.equal(outcome.platform, 'win32');
  });
  after(() => dir.cleanup());

  it('imports a PFX into the store and lists the certificate with its key', () => {
    assert.deepEqual(outcome.imported, [thumbprint]);
    assert.equal(outcome.listed, true);
  });

  it('finds a thumbprint the file store does not hold in the system store and exports it for TLS', () => {
    // Wine has no PFXExportCertStoreEx, so this is the CryptoAPI path (PRIVATEKEYBLOB → PKCS#8); Windows
    // itself hands over PKCS#12.
    assert.deepEqual(outcome.credential, { thumbprint, dnsNames: ['replica.wine.test'], kind: 'pem' });
  });

  it('presents the exported certificate and key in a mutual TLS 1.3 handshake', () => {
    assert.deepEqual(outcome.handshake, { protocol: 'TLSv1.3', reply: 'ok', peer: thumbprint });
  });

  it('reports a wrong PFX password and an unknown thumbprint with typed errors', () => {
    const wrong = (outcome.wrongPassword as Captured).error;
    assert.equal(wrong?.code, 'ERR_INVALID_ARGUMENT', JSON.stringify(outcome.wrongPassword));
    assert.match(wrong!.message, /password/);
    const unknown = (outcome.unknown as Captured).error;
    assert.equal(unknown?.code, 'ERR_NOT_FOUND', JSON.stringify(outcome.unknown));
    assert.match(unknown!.message, /CurrentUser\\My/);
  });

  it('is not supported off Windows, and says to import a PEM or PFX file instead', async () => {
    await assert.rejects(new SystemCertificateStore().credential('AB'.repeat(20), []), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_NOT_SUPPORTED');
      assert.match(error.message, /hvreplica cert import/);
      return true;
    });
  });
});
