import { access, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from '../../cli-error.js';
import { ExitCode } from '../../exit-codes.js';
import type { GlobalOptions } from '../../command-kit.js';
import type { CommandResult } from '../../output.js';
import { writeFileAtomic } from '../../../replica/atomic-file.js';
import { isDnsName } from '../../../replica/index.js';
import { createCertificateAuthority, createHostCertificate, describeCertificate, FileCertificateStore, parseCertificate, SecurityError } from '../../../security/index.js';
import type { CertImportArgs, CertNewArgs, CertNewCaArgs, CertTrustArgs } from './command.js';

async function refuseOverwrite(...paths: string[]): Promise<void> {
  for (const path of paths) {
    const exists = await access(path).then(() => true, () => false);
    if (exists) throw new SecurityError('ERR_ALREADY_EXISTS', `${path} already exists; choose another --out-dir or move the old file away`);
  }
}

async function readInput(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new SecurityError('ERR_NOT_FOUND', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

export async function certNewCa(args: CertNewCaArgs): Promise<CommandResult> {
  const certificatePath = join(args['out-dir'], 'hvreplica-ca.crt');
  const keyPath = join(args['out-dir'], 'hvreplica-ca.key');
  await refuseOverwrite(certificatePath, keyPath);
  const ca = await createCertificateAuthority(args['common-name'], args['validity-days']);
  await mkdir(args['out-dir'], { recursive: true });
  await writeFileAtomic(keyPath, ca.privateKeyPem);
  await writeFileAtomic(certificatePath, ca.certificatePem);
  return { data: { ...describeCertificate(parseCertificate(ca.certificatePem, certificatePath)), CertificatePath: certificatePath, KeyPath: keyPath } };
}

export async function certNew(args: CertNewArgs): Promise<CommandResult> {
  const names = args['dns-name'].map((n) => n.trim().toLowerCase());
  for (const name of names) {
    if (!isDnsName(name)) throw new CliError('ERR_INVALID_ARGUMENT', `"${name}" is not a DNS host name; the certificate must name the host as peers reach it`, ExitCode.Usage);
  }
  if (args['out-dir'] === undefined && !args.import) {
    throw new CliError('ERR_INVALID_ARGUMENT', 'give --out-dir (to copy the certificate to its host) or --import (to install it on this host)', ExitCode.Usage);
  }
  const ca = { certificatePem: await readInput(args['ca-certificate-path']), privateKeyPem: await readInput(args['ca-key-path']) };
  const pair = await createHostCertificate(ca, names, args['validity-days']);
  const result: Record<string, unknown> = { ...describeCertificate(parseCertificate(pair.certificatePem, 'new certificate')) };
  if (args['out-dir'] !== undefined) {
    const certificatePath = join(args['out-dir'], `${names[0]}.crt`);
    const keyPath = join(args['out-dir'], `${names[0]}.key`);
    await refuseOverwrite(certificatePath, keyPath);
    await mkdir(args['out-dir'], { recursive: true });
    await writeFileAtomic(keyPath, pair.privateKeyPem);
    await writeFileAtomic(certificatePath, pair.certificatePem);
    Object.assign(result, { CertificatePath: certificatePath, KeyPath: keyPath });
  }
  if (args.import) {
    const store = new FileCertificateStore(args['state-dir']);
    await store.trustRoot(ca.certificatePem);
    await store.importPem(pair.certificatePem, pair.privateKeyPem);
  }
  result.Imported = args.import;
  return { data: result };
}

export async function certImport(args: CertImportArgs): Promise<CommandResult> {
  const store = new FileCertificateStore(args['state-dir']);
  const pem = args['certificate-path'] !== undefined || args['key-path'] !== undefined;
  if (pem === (args['pfx-path'] !== undefined)) {
    throw new CliError('ERR_INVALID_ARGUMENT', 'give either --certificate-path with --key-path, or --pfx-path', ExitCode.Usage);
  }
  if (pem) {
    if (args['certificate-path'] === undefined || args['key-path'] === undefined) {
      throw new CliError('ERR_INVALID_ARGUMENT', '--certificate-path and --key-path go together', ExitCode.Usage);
    }
    return { data: await store.importPem(await readInput(args['certificate-path']), await readInput(args['key-path'])) };
  }
  const envName = args['pfx-password-env'];
  const passphrase = envName === undefined ? undefined : process.env[envName];
  if (envName !== undefined && passphrase === undefined) {
    throw new CliError('ERR_INVALID_ARGUMENT', `environment variable ${envName} is not set`, ExitCode.Usage);
  }
  const pfx = await readFile(args['pfx-path']!).catch((error: NodeJS.ErrnoException) => {
    throw new SecurityError('ERR_NOT_FOUND', `cannot read ${args['pfx-path']}: ${error.code ?? error.message}`);
  });
  return { data: await store.importPfx(pfx, passphrase) };
}

export async function certTrust(args: CertTrustArgs): Promise<CommandResult> {
  return { data: await new FileCertificateStore(args['state-dir']).trustRoot(await readInput(args['certificate-path'])) };
}

export async function certList(args: GlobalOptions): Promise<CommandResult> {
  return { data: await new FileCertificateStore(args['state-dir']).list() };
}
