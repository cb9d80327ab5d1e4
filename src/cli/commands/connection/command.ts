import type { Argv, CommandModule } from 'yargs';
import { action, type GlobalOptions } from '../../command-kit.js';

export interface ConnectionTestArgs extends GlobalOptions {
  'replica-server-name': string;
  'replica-server-port': number;
  'authentication-type': string;
  'certificate-thumbprint'?: string;
  'bypass-proxy-server'?: boolean;
  'replica-server-address'?: string;
  'timeout-sec': number;
}

export const connectionCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'connection <action>',
  describe: 'Connections to replica servers (Test-VMReplicationConnection)',
  builder: (yargs) =>
    yargs
      .command({
        command: 'test',
        describe: 'Check that a replica server accepts this host as a primary',
        builder: (y: Argv<GlobalOptions>) =>
          y
            .option('replica-server-name', { type: 'string', demandOption: true, describe: 'DNS name of the replica server (as in its certificate)' })
            .option('replica-server-port', { type: 'number', demandOption: true, describe: 'Its certificate authentication port' })
            .option('authentication-type', { type: 'string', demandOption: true, choices: ['Kerberos', 'Certificate'] })
            .option('certificate-thumbprint', { type: 'string', describe: 'This host\'s certificate ("cert list")' })
            .option('bypass-proxy-server', { type: 'boolean', describe: 'Accepted for compatibility: hvreplica never uses a proxy' })
            .option('replica-server-address', { type: 'string', hidden: true, describe: 'Connect to this address instead of resolving the name' })
            .option('timeout-sec', { type: 'number', default: 15, describe: 'Give up connecting after this many seconds' }) as unknown as Argv<ConnectionTestArgs>,
        handler: action('connection test', async (args: ConnectionTestArgs) => (await import('./impl.js')).connectionTest(args)),
      })
      .demandCommand(1),
  handler: () => undefined,
};
