/**
 * Certificates for workgroup hosts: a small private CA and host certificates signed by it, with the
 * host's DNS name as subject alternative name (the name the other side checks and that authorization
 * entries match). Node has no API to build X.509 certificates; @peculiar/x509 does it over node's own
 * WebCrypto (no JavaScript crypto of its own), is written in TypeScript and maintained by the PKI.js
 * authors. Keys are ECDSA P-256: fast TLS 1.3 handshakes and accepted by Windows' certificate store.
 */
import type * as X509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import { SecurityError } from './errors.js';

let loaded: Promise<typeof X509> | undefined;

/**
 * @peculiar/x509 (with reflect-metadata and its DI container) takes ~100 ms to load; only making
 * certificates needs it, so it is loaded then and not by every process that imports this package.
 */
function x509Library(): Promise<typeof X509> {
  loaded ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as Crypto);
    return x509;
  })();
  return loaded;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const DAY_MS = 86_400_000;

export interface PemPair {
  certificatePem: string;
  privateKeyPem: string;
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // positive, as RFC 5280 requires
  return bytes.toString('hex');
}

function escapeRdn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isInteger(days) || days < 1 || days > 3650 * 3) {
    throw new SecurityError('ERR_INVALID_ARGUMENT', `validity must be 1 to ${3650 * 3} days, got ${days}`);
  }
  // Back-date a little so a peer whose clock runs slow does not see a certificate from the future.
  const notBefore = new Date(Date.now() - 3600_000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * DAY_MS) };
}

async function exportKey(x509: typeof X509, key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

export async function createCertificateAuthority(commonName: string, validityDays = 3650): Promise<PemPair> {
  if (commonName.trim().length === 0) throw new SecurityError('ERR_INVALID_ARGUMENT', 'the CA needs a common name');
  const x509 = await x509Library();
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${escapeRdn(commonName.trim())}`,
    ...validity(validityDays),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificatePem: cert.toString('pem'), privateKeyPem: await exportKey(x509, keys.privateKey) };
}

async function importCaKey(x509: typeof X509, pem: string): Promise<CryptoKey> {
  try {
    return await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(pem), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  } catch (error) {
    throw new SecurityError('ERR_INVALID_ARGUMENT', `the CA key is not an unencrypted PKCS#8 P-256 key made by "cert new-ca" (${(error as Error).message})`);
  }
}

/**
 * A host certificate for both directions of a relationship (the same host is a primary for some VMs and
 * a replica for others): server and client authentication, the DNS names as SANs, the first as CN.
 */
export async function createHostCertificate(ca: PemPair, dnsNames: readonly string[], validityDays = 825): Promise<PemPair> {
  if (dnsNames.length === 0) throw new SecurityError('ERR_INVALID_ARGUMENT', 'a host certificate needs at least one DNS name');
  const x509 = await x509Library();
  let caCert: X509.X509Certificate;
  try {
    caCert = new x509.X509Certificate(ca.certificatePem);
  } catch (error) {
    throw new SecurityError('ERR_INVALID_ARGUMENT', `the CA certificate cannot be read (${(error as Error).message})`);
  }
  const caKey = await importCaKey(x509, ca.privateKeyPem);
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${escapeRdn(dnsNames[0]!)}`,
    issuer: caCert.subject,
    ...validity(validityDays),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([OID_SERVER_AUTH, OID_CLIENT_AUTH], false),
      new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: 'dns' as const, value }))),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certificatePem: cert.toString('pem'), privateKeyPem: await exportKey(x509, keys.privateKey) };
}

export { OID_CLIENT_AUTH, OID_SERVER_AUTH };
