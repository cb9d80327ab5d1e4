/**
 * The Windows system certificate store, where Hyper-V Replica keeps a host's certificate
 * (LocalMachine\My): `--certificate-thumbprint` may name a certificate there, as it does for Hyper-V.
 * Node's TLS cannot use a key that CryptoAPI/CNG holds, so the addon exports the certificate with its key
 * as PKCS#12 under a one-time password that never leaves this process; a non-exportable key is refused
 * with the way to re-import it. Anywhere but Windows every call is ERR_NOT_SUPPORTED.
 */
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { binding, type NativeBinding } from '../native/binding.js';
import { normalizeThumbprint } from '../replica/server-settings.js';
import { describeCertificate } from './certificate-info.js';
import type { StoredCertificate } from './certificate-store.js';
import { credentialFromPem, credentialFromPfx, type HostCredential } from './credential.js';
import { SecurityError } from './errors.js';

export type SystemStoreLocation = 'LocalMachine' | 'CurrentUser';

interface SystemStoreBinding extends NativeBinding {
  systemCertificates(location: SystemStoreLocation, store: string): Promise<Array<{ der: Buffer; hasPrivateKey: boolean }>>;
  exportSystemCertificate(location: SystemStoreLocation, store: string, sha1: Buffer, password: string): Promise<ExportedCertificate>;
  importSystemCertificates(location: SystemStoreLocation, store: string, pfx: Buffer, password: string): Promise<Buffer[]>;
}

/** PKCS#12, or (where the system cannot write it) the certificate and a CryptoAPI RSA PRIVATEKEYBLOB. */
interface ExportedCertificate {
  pfx?: Buffer;
  der?: Buffer;
  rsaPrivateKeyBlob?: Buffer;
}

const PRIVATEKEYBLOB = 0x07;
const RSA2 = 0x32415352;

/**
 * CryptoAPI's PRIVATEKEYBLOB (BLOBHEADER, RSAPUBKEY, then modulus, primes, exponents, coefficient and
 * private exponent, little-endian) as a PKCS#8 PEM key for node's TLS.
 */
export function rsaPrivateKeyBlobToPem(blob: Buffer): string {
  const bad = (why: string): never => {
    throw new SecurityError('ERR_CERTIFICATE', `the private key the system exported is not an RSA PRIVATEKEYBLOB (${why})`);
  };
  if (blob.length < 20 || blob[0] !== PRIVATEKEYBLOB) bad('wrong blob type');
  if (blob.readUInt32LE(8) !== RSA2) bad('no RSA2 magic');
  const bits = blob.readUInt32LE(12);
  const [full, half] = [bits / 8, bits / 16];
  if (!Number.isInteger(half) || blob.length < 20 + full * 2 + half * 5) bad(`${blob.length} bytes for a ${bits}-bit key`);
  let at = 20;
  const take = (size: number): string => {
    const part = Buffer.from(blob.subarray(at, at + size)).reverse();
    at += size;
    return part.toString('base64url');
  };
  const exponent = Buffer.alloc(4);
  exponent.writeUInt32BE(blob.readUInt32LE(16));
  const e = exponent.subarray(exponent.findIndex((b) => b !== 0)).toString('base64url');
  const n = take(full);
  const [p, q, dp, dq, qi] = [take(half), take(half), take(half), take(half), take(half)];
  const d = take(full);
  const key = createPrivateKey({ key: { kty: 'RSA', n, e, d, p, q, dp, dq, qi }, format: 'jwk' });
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

const addon = (): SystemStoreBinding => binding() as SystemStoreBinding;

export class SystemCertificateStore {
  constructor(
    readonly location: SystemStoreLocation = 'LocalMachine',
    readonly store = 'My',
  ) {}

  /** `LocalMachine\My`, as administrators write it. */
  get name(): string {
    return `${this.location}\\${this.store}`;
  }

  /** The store's certificates that carry a private key (the only ones a host can present). */
  async list(): Promise<StoredCertificate[]> {
    const found = await addon().systemCertificates(this.location, this.store);
    return found
      .filter((c) => c.hasPrivateKey)
      .map((c) => ({ ...describeCertificate(new X509Certificate(c.der)), Store: 'My' as const, HasPrivateKey: true }));
  }

  async credential(thumbprint: string, trustedRoots: string[]): Promise<HostCredential> {
    const thumb = normalizeThumbprint(thumbprint);
    const password = randomBytes(24).toString('base64url');
    const source = `certificate ${thumb} in ${this.name}`;
    const exported = await addon().exportSystemCertificate(this.location, this.store, Buffer.from(thumb, 'hex'), password);
    if (exported.pfx) return credentialFromPfx(exported.pfx, password, trustedRoots, source);
    const certificatePem = new X509Certificate(exported.der!).toString();
    return credentialFromPem(certificatePem, rsaPrivateKeyBlobToPem(exported.rsaPrivateKeyBlob!), trustedRoots, source);
  }

  /** Adds a PFX's certificates to the store with exportable keys; returns those that came with a key. */
  async importPfx(pfx: Buffer, passphrase = ''): Promise<StoredCertificate[]> {
    const ders = await addon().importSystemCertificates(this.location, this.store, pfx, passphrase);
    return ders.map((der) => ({ ...describeCertificate(new X509Certificate(der)), Store: 'My' as const, HasPrivateKey: true }));
  }
}
