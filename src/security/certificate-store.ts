/**
 * Where a host keeps its certificates, addressed by thumbprint as Hyper-V addresses LocalMachine\My,
 * so `server set --certificate-thumbprint` and `replication enable --certificate-thumbprint` mean
 * the same on every platform.
 *
 * The seam: `CertificateStore`. `FileCertificateStore` (every platform) keeps PEM and PKCS#12 files in
 * the state directory; on Windows a thumbprint it does not hold is looked up in the system store
 * (LocalMachine\My, system-certificate-store.ts), where Hyper-V administrators put host certificates.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../replica/atomic-file.js';
import { normalizeThumbprint } from '../replica/server-settings.js';
import { describeCertificate, parseCertificate, type CertificateInfo } from './certificate-info.js';
import { credentialFromPem, credentialFromPfx, type HostCredential } from './credential.js';
import { SecurityError } from './errors.js';
import { SystemCertificateStore } from './system-certificate-store.js';

export type StoreName = 'My' | 'Root';

export interface StoredCertificate extends CertificateInfo {
  Store: StoreName;
  HasPrivateKey: boolean;
}

export interface CertificateStore {
  list(): Promise<StoredCertificate[]>;
  /** This host's certificate with its key and the trusted roots; ERR_NOT_FOUND when absent. */
  credential(thumbprint: string): Promise<HostCredential>;
  importPem(certificatePem: string, privateKeyPem: string): Promise<StoredCertificate>;
  importPfx(pfx: Buffer, passphrase?: string): Promise<StoredCertificate>;
  trustRoot(certificatePem: string): Promise<StoredCertificate>;
  trustedRoots(): Promise<string[]>;
}

interface PfxRecord {
  pfx: string;
  passphrase?: string;
}

export class FileCertificateStore implements CertificateStore {
  readonly myDir: string;
  readonly rootDir: string;

  /** `system`: the Windows store consulted after the files (default LocalMachine\My on Windows, none elsewhere). */
  constructor(
    stateDir: string,
    readonly system: SystemCertificateStore | undefined = process.platform === 'win32' ? new SystemCertificateStore() : undefined,
  ) {
    this.myDir = join(stateDir, 'certs', 'my');
    this.rootDir = join(stateDir, 'certs', 'root');
  }

  async list(): Promise<StoredCertificate[]> {
    const out: StoredCertificate[] = [];
    for (const thumbprint of await this.thumbprints(this.myDir)) {
      const credential = await this.credential(thumbprint).catch(() => undefined);
      if (credential) out.push({ ...describeCertificate(credential.certificate), Store: 'My', HasPrivateKey: true });
    }
    if (this.system) {
      const have = new Set(out.map((c) => c.Thumbprint));
      out.push(...(await this.system.list()).filter((c) => !have.has(c.Thumbprint)));
    }
    for (const file of await listFiles(this.rootDir)) {
      if (!file.endsWith('.pem')) continue;
      const cert = parseCertificate(await readFile(join(this.rootDir, file)), join(this.rootDir, file));
      out.push({ ...describeCertificate(cert), Store: 'Root', HasPrivateKey: false });
    }
    return out;
  }

  async credential(thumbprint: string): Promise<HostCredential> {
    const thumb = normalizeThumbprint(thumbprint);
    const roots = await this.trustedRoots();
    const pemPath = join(this.myDir, `${thumb}.pem`);
    const pem = await readFile(pemPath, 'utf8').catch(() => undefined);
    if (pem !== undefined) {
      const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
      const key = /-----BEGIN (?:EC |RSA )?PRIVATE KEY-----[\s\S]+?-----END (?:EC |RSA )?PRIVATE KEY-----/.exec(pem)?.[0];
      if (!cert || !key) throw new SecurityError('ERR_CERTIFICATE', `${pemPath} must hold a certificate and its private key; import it again`);
      return credentialFromPem(cert, key, roots, pemPath);
    }
    const pfxPath = join(this.myDir, `${thumb}.pfx.json`);
    const record = await readFile(pfxPath, 'utf8').catch(() => undefined);
    if (record !== undefined) {
      const parsed = JSON.parse(record) as PfxRecord;
      return credentialFromPfx(Buffer.from(parsed.pfx, 'base64'), parsed.passphrase, roots, pfxPath);
    }
    if (this.system) {
      try {
        return await this.system.credential(thumb, roots);
      } catch (error) {
        // Only "not there" falls through; a key that cannot be exported must reach the administrator.
        if ((error as { code?: string }).code !== 'ERR_NOT_FOUND') throw error;
      }
    }
    const where = this.system ? ` (neither in ${this.myDir} nor in ${this.system.name})` : '';
    throw new SecurityError('ERR_NOT_FOUND', `no certificate with thumbprint ${thumb} on this host${where}; "cert list" shows them, "cert import" or "cert new --import" adds one`);
  }

  async importPem(certificatePem: string, privateKeyPem: string): Promise<StoredCertificate> {
    const credential = credentialFromPem(certificatePem, privateKeyPem);
    // Owner-only: the file holds the private key.
    await writeFileAtomic(join(this.myDir, `${credential.thumbprint}.pem`), `${certificatePem.trim()}\n${privateKeyPem.trim()}\n`);
    return { ...describeCertificate(credential.certificate), Store: 'My', HasPrivateKey: true };
  }

  async importPfx(pfx: Buffer, passphrase?: string): Promise<StoredCertificate> {
    const credential = credentialFromPfx(pfx, passphrase);
    // The PFX stays encrypted as it came; its password sits beside it, readable by the owner only,
    // because the replica server must open it unattended.
    const record: PfxRecord = { pfx: pfx.toString('base64'), ...(passphrase !== undefined ? { passphrase } : {}) };
    await writeFileAtomic(join(this.myDir, `${credential.thumbprint}.pfx.json`), JSON.stringify(record));
    return { ...describeCertificate(credential.certificate), Store: 'My', HasPrivateKey: true };
  }

  async trustRoot(certificatePem: string): Promise<StoredCertificate> {
    const cert = parseCertificate(certificatePem, 'root certificate');
    if (!cert.ca) throw new SecurityError('ERR_INVALID_ARGUMENT', 'this certificate is not a certification authority; trust the CA that signed the peer\'s certificate');
    const info = describeCertificate(cert);
    await writeFileAtomic(join(this.rootDir, `${info.Thumbprint}.pem`), cert.toString());
    return { ...info, Store: 'Root', HasPrivateKey: false };
  }

  async trustedRoots(): Promise<string[]> {
    const files = (await listFiles(this.rootDir)).filter((f) => f.endsWith('.pem')).sort();
    return Promise.all(files.map((f) => readFile(join(this.rootDir, f), 'utf8')));
  }

  private async thumbprints(dir: string): Promise<string[]> {
    const names = new Set<string>();
    for (const file of await listFiles(dir)) {
      const match = /^([0-9A-F]{40})\.(?:pem|pfx\.json)$/.exec(file);
      if (match) names.add(match[1]!);
    }
    return [...names].sort();
  }
}

async function listFiles(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
