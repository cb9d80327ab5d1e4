import type { Argv, CommandModule } from 'yargs';
import { action, type GlobalOptions } from '../../command-kit.js';

export interface AuthArgs extends GlobalOptions {
  'allowed-primary-server'?: string;
  'replica-storage-location'?: string;
  'trust-group'?: string;
}

const options = (required: boolean) => (yargs: Argv<GlobalOptions>) =>
  yargs
    .option('allowed-primary-server', { type: 'string', demandOption: required, describe: 'FQDN, *.domain or *' })
    .option('replica-storage-location', { type: 'string', demandOption: required, describe: 'Where replicas of this primary are stored' })
    .option('trust-group', { type: 'string', demandOption: required, describe: 'Primaries of one trust group may replicate each other\'s VMs' }) as unknown as Argv<AuthArgs>;

export const authCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'auth <action>',
  describe: 'Authorization entries: which primary servers may replicate here (…-VMReplicationAuthorizationEntry)',
  builder: (yargs) =>
    yargs
      .command({
        command: 'add',
        describe: 'Authorize a primary server',
        builder: options(true),
        handler: action('auth add', async (args: AuthArgs) => (await import('./impl.js')).authAdd(args), { logToFile: true }),
      })
      .command({
        command: 'list',
        describe: 'List authorization entries (optionally filtered)',
        builder: options(false),
        handler: action('auth list', async (args: AuthArgs) => (await import('./impl.js')).authList(args)),
      })
      .command({
        command: 'set',
        describe: 'Change the storage location or trust group of an entry',
        builder: (y: Argv<GlobalOptions>) => options(false)(y).demandOption('allowed-primary-server'),
        handler: action('auth set', async (args: AuthArgs) => (await import('./impl.js')).authSet(args), { logToFile: true }),
      })
      .command({
        command: 'remove',
        describe: 'Remove the entry of a primary server, or every entry of a trust group',
        builder: options(false),
        handler: action('auth remove', async (args: AuthArgs) => (await import('./impl.js')).authRemove(args), { logToFile: true }),
      })
      .demandCommand(1),
  handler: () => undefined,
};
