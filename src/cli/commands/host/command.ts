import type { CommandModule } from 'yargs';
import { action, type GlobalOptions } from '../../command-kit.js';

export const hostCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'host <action>',
  describe: 'This host: version, platform and the Windows features hvreplica can use',
  builder: (yargs) =>
    yargs.command({
      command: 'info',
      describe: 'Show the addon version, platform, state directory and host features',
      handler: action('host info', async (args: GlobalOptions) => (await import('./info.js')).hostInfo(args)),
    }).demandCommand(1),
  handler: () => undefined,
};
