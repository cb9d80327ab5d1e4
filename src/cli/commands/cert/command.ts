import type { Argv, CommandModule } from 'yargs';
import { action, type GlobalOptions } from '../../command-kit.js';

export interface CertNewCaArgs extends GlobalOptions {
  'common-name': string;
  'out-dir': string;
  'validity-days': number;
}

export interface CertNewArgs extends GlobalOptions {
  'dns-name': string[];
  'ca-certificate-path': string;
  'ca-key-path': string;
  'out-dir'?: string;
  'validity-days': number;
  import: boolean;
}

export interface CertImportArgs extends GlobalOptions {
  'certificate-path'?: string;
  'key-path'?: string;
  'pfx-path'?: string;
  'pfx-password-env'?: string;
}

export interface CertTrustArgs extends GlobalOptions {
  'certificate-path': string;
}

export const certCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'cert <action>',
  describe: 'Certificates: a small CA for workgroups, host certificates, this host\'s store',
  builder: (yargs) =>
    yargs
      .command({
        command: 'new-ca',
        describe: 'Create a certification authority for pairing hosts without a domain',
        builder: (y: Argv<GlobalOptions>) =>
          y
            .option('common-name', { type: 'string', demandOption: true, describe: 'Name of the CA' })
            .option('out-dir', { type: 'string', demandOption: true, describe: 'Where to write hvreplica-ca.crt and hvreplica-ca.key' })
            .option('validity-days', { type: 'number', default: 3650 }) as unknown as Argv<CertNewCaArgs>,
        handler: action('cert new-ca', async (args: CertNewCaArgs) => (await import('./impl.js')).certNewCa(args)),
      })
      .command({
        command: 'new',
        describe: 'Create a host certificate signed by the CA (client and server authentication)',
        builder: (y: Argv<GlobalOptions>) =>
          y
            .option('dns-name', { type: 'string', array: true, demandOption: true, describe: 'The host\'s DNS name(s); the first is its identity' })
            .option('ca-certificate-path', { type: 'string', demandOption: true })
            .option('ca-key-path', { type: 'string', demandOption: true })
            .option('out-dir', { type: 'string', describe: 'Write <name>.crt and <name>.key here (to copy to that host)' })
            .option('validity-days', { type: 'number', default: 825 })
            .option('import', { type: 'boolean', default: false, describe: 'Install it on this host and trust the CA' }) as unknown as Argv<CertNewArgs>,
        handler: action('cert new', async (args: CertNewArgs) => (await import('./impl.js')).certNew(args), { logToFile: true }),
      })
      .command({
        command: 'import',
        describe: 'Install this host\'s certificate from PEM files or a PFX',
        builder: (y: Argv<GlobalOptions>) =>
          y
            .option('certificate-path', { type: 'string' })
            .option('key-path', { type: 'string' })
            .option('pfx-path', { type: 'string' })
            .option('pfx-password-env', { type: 'string', describe: 'Name of the environment variable holding the PFX password' }) as unknown as Argv<CertImportArgs>,
        handler: action('cert import', async (args: CertImportArgs) => (await import('./impl.js')).certImport(args), { logToFile: true }),
      })
      .command({
        command: 'trust',
        describe: 'Trust a CA to sign the certificates of peer hosts',
        builder: (y: Argv<GlobalOptions>) => y.option('certificate-path', { type: 'string', demandOption: true }) as unknown as Argv<CertTrustArgs>,
        handler: action('cert trust', async (args: CertTrustArgs) => (await import('./impl.js')).certTrust(args), { logToFile: true }),
      })
      .command({
        command: 'list',
        describe: 'List this host\'s certificates and trusted CAs',
        handler: action('cert list', async (args: GlobalOptions) => (await import('./impl.js')).certList(args)),
      })
      .demandCommand(1),
  handler: () => undefined,
};
