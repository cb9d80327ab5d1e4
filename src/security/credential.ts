/**
 * A host credential ready for node's TLS: certificate and key (PEM) or a PKCS#12 file, plus the roots
 * that this host trusts to sign its peers' certificates.
 */
import { readFile } from 'node:fs/promises';
import { createSecureContext, TLSSocket } from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import { checkHostCertificate, dnsNamesOf, parseCertificate, parsePrivateKey, thumbprintOf } from './certificate-info.js';
import { SecurityError } from './errors.js';

export type KeyMaterial = { kind: 'pem'; certificatePem: string; privateKeyPem: string } | { kind: 'pfx'; pfx: Buffer; passphrase?: string };

export interface HostCredential {
  material: KeyMaterial;
  certificate: X509Certificate;
  thumbprint: string;
  /** The names this host is known by (SAN DNS names, else CN). */
  dnsNames: string[];
  /** PEM roots that sign the peers' certificates. */
  trustedRoots: string[];
}

/** Options for tls/http2 from a credential: its own identity and the roots it verifies peers with. */
export function tlsOptions(credential: HostCredential): { cert?: string; key?: string; pfx?: Buffer; passphrase?: string; ca: string[] } {
  const ca = credential.trustedRoots;
  if (credential.material.kind === 'pem') return { cert: credential.material.certificatePem, key: credential.material.privateKeyPem, ca };
  return { pfx: credential.material.pfx, ...(credential.material.passphrase !== undefined ? { passphrase: credential.material.passphrase } : {}), ca };
}

export function credentialFromPem(certificatePem: string, privateKeyPem: string, trustedRoots: string[] = [], source = 'certificate'): HostCredential {
  const certificate = parseCertificate(certificatePem, source);
  checkHostCertificate(certificate, parsePrivateKey(privateKeyPem, `${source} key`));
  return { material: { kind: 'pem', certificatePem, privateKeyPem }, certificate, thumbprint: thumbprintOf(certificate), dnsNames: dnsNamesOf(certificate), trustedRoots };
}

export async function loadPemCredential(certificatePath: string, keyPath: string, trustedRoots: string[] = []): Promise<HostCredential> {
  const [cert, key] = await Promise.all([readText(certificatePath), readText(keyPath)]);
  return credentialFromPem(cert, key, trustedRoots, certificatePath);
}

/**
 * PKCS#12 is opened by node's TLS itself (OpenSSL), which is also what checks the passphrase; the
 * certificate is read back from a TLS socket that uses the context, without any network.
 */
export function credentialFromPfx(pfx: Buffer, passphrase: string | undefined, trustedRoots: string[] = [], source = 'PFX file'): HostCredential {
  let raw: Buffer | undefined;
  try {
    const context = createSecureContext({ pfx, ...(passphrase !== undefined ? { passphrase } : {}) });
    const socket = new TLSSocket(null as never, { secureContext: context, isServer: true });
    raw = (socket.getCertificate() as { raw?: Buffer } | null)?.raw;
    socket.destroy();
  } catch (error) {
    throw new SecurityError('ERR_INVALID_ARGUMENT', `${source} cannot be opened (${(error as Error).message}); check the file and its password`);
  }
  if (!raw) throw new SecurityError('ERR_INVALID_ARGUMENT', `${source} holds no certificate with a private key`);
  const certificate = parseCertificate(raw, source);
  // OpenSSL already refused a PFX whose key does not match its certificate.
  checkHostCertificate(certificate, undefined);
  return {
    material: { kind: 'pfx', pfx, ...(passphrase !== undefined ? { passphrase } : {}) },
    certificate,
    thumbprint: thumbprintOf(certificate),
    dnsNames: dnsNamesOf(certificate),
    trustedRoots,
  };
}

export async function loadPfxCredential(path: string, passphrase?: string, trustedRoots: string[] = []): Promise<HostCredential> {
  return credentialFromPfx(await readBytes(path), passphrase, trustedRoots, path);
}

async function readText(path: string): Promise<string> {
  return (await readBytes(path)).toString('utf8');
}

async function readBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new SecurityError('ERR_NOT_FOUND', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
