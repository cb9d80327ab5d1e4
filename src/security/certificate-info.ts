/**
 * What hvreplica needs to know about a certificate, read with node's own X509Certificate: the
 * Windows-style thumbprint (SHA-1 of the DER, 40 hex digits), the DNS names that identify the host,
 * validity and key usages; and the checks Hyper-V makes before it uses a certificate.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { SecurityError } from './errors.js';
import { OID_CLIENT_AUTH, OID_SERVER_AUTH } from './x509-generator.js';

export interface CertificateInfo {
  Thumbprint: string;
  Subject: string;
  Issuer: string;
  DnsNames: string[];
  NotBefore: string;
  NotAfter: string;
  /** Extended key usages (OIDs); empty means "any", as in X.509. */
  EnhancedKeyUsage: string[];
  IsCertificateAuthority: boolean;
}

export function thumbprintOf(cert: X509Certificate): string {
  return cert.fingerprint.replaceAll(':', '').toUpperCase();
}

/** DNS names from the SAN, else the subject CN (Hyper-V accepts either). */
export function dnsNamesOf(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  if (san) {
    const names = san
      .split(/,\s*/)
      .filter((part) => part.startsWith('DNS:'))
      .map((part) => part.slice(4).toLowerCase());
    if (names.length > 0) return names;
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1]?.toLowerCase();
  // A CN such as "Lab CA" is a label, not a host name; only a DNS-shaped CN identifies a host.
  return cn && /^[a-z0-9*]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(cn) ? [cn] : [];
}

export function describeCertificate(cert: X509Certificate): CertificateInfo {
  return {
    Thumbprint: thumbprintOf(cert),
    Subject: cert.subject.replaceAll('\n', ', '),
    Issuer: cert.issuer.replaceAll('\n', ', '),
    DnsNames: dnsNamesOf(cert),
    NotBefore: new Date(cert.validFrom).toISOString(),
    NotAfter: new Date(cert.validTo).toISOString(),
    EnhancedKeyUsage: cert.keyUsage ?? [],
    IsCertificateAuthority: cert.ca,
  };
}

export function parseCertificate(pem: string | Buffer, source: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new SecurityError('ERR_INVALID_ARGUMENT', `${source} is not a PEM or DER certificate (${(error as Error).message})`);
  }
}

export function parsePrivateKey(pem: string | Buffer, source: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new SecurityError('ERR_INVALID_ARGUMENT', `${source} is not an unencrypted PEM private key (${(error as Error).message})`);
  }
}

/**
 * The checks Hyper-V documents for a replication certificate: valid now, Client and Server
 * Authentication usage, the private key belongs to it, and it names the host.
 */
export function checkHostCertificate(cert: X509Certificate, key: KeyObject | undefined, now = new Date()): void {
  const thumb = thumbprintOf(cert);
  if (new Date(cert.validFrom) > now) throw new SecurityError('ERR_CERTIFICATE', `certificate ${thumb} is not valid before ${cert.validFrom}; check this host's clock`);
  if (new Date(cert.validTo) <= now) throw new SecurityError('ERR_CERTIFICATE', `certificate ${thumb} expired on ${cert.validTo}; make a new one with "cert new"`);
  const usages = cert.keyUsage;
  if (usages && usages.length > 0 && !(usages.includes(OID_SERVER_AUTH) && usages.includes(OID_CLIENT_AUTH))) {
    throw new SecurityError('ERR_CERTIFICATE', `certificate ${thumb} lacks the Client Authentication and Server Authentication usages that replication needs`);
  }
  if (key && !cert.checkPrivateKey(key)) throw new SecurityError('ERR_CERTIFICATE', `the private key does not belong to certificate ${thumb}`);
  if (dnsNamesOf(cert).length === 0) throw new SecurityError('ERR_CERTIFICATE', `certificate ${thumb} names no DNS host (no SAN and no CN)`);
}
