import type { Argv, CommandModule } from 'yargs';
import { action, type GlobalOptions } from '../../command-kit.js';
import { SERVICE_ROLES } from './plan.js';
import type { ServiceArgs } from './impl.js';

function roleOptions(yargs: Argv<GlobalOptions>): Argv<ServiceArgs> {
  return yargs
    .option('role', { choices: SERVICE_ROLES, demandOption: true, describe: 'Which role the service runs' })
    .option('service-name', { type: 'string', describe: 'Service name (default hvreplica-<role>)' }) as unknown as Argv<ServiceArgs>;
}

export const serviceCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'service <action>',
  describe: 'Run the replica server or the agent as a Windows service (systemd unit on Linux)',
  builder: (yargs) =>
    yargs
      .command({
        command: 'install',
        describe: 'Install and start the service (needs an elevated prompt / root)',
        builder: roleOptions,
        handler: action('service install', async (args: ServiceArgs) => (await import('./impl.js')).installService(args)),
      })
      .command({
        command: 'uninstall',
        describe: 'Stop and remove the service',
        builder: roleOptions,
        handler: action('service uninstall', async (args: ServiceArgs) => (await import('./impl.js')).uninstallService(args)),
      })
      .command({
        command: 'run',
        describe: false,
        builder: roleOptions,
        handler: action('service run', async (args: ServiceArgs) => (await import('./impl.js')).runService(args), { logToFile: true }),
      })
      .demandCommand(1),
  handler: () => undefined,
};
