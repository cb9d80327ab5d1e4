import type { Argv, CommandModule } from 'yargs';
import { action, type GlobalOptions } from '../../command-kit.js';
import { withVmRoot, type VmRootOptions } from '../vm/host.js';

export type AgentRunArgs = VmRootOptions;

export const agentCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'agent <action>',
  describe: 'This host as a primary: the agent that replicates every primary relationship on schedule',
  builder: (yargs) =>
    yargs
      .command({
        command: 'run',
        describe: 'Run replication cycles of every primary VM at its frequency until stopped (SIGINT/SIGTERM)',
        builder: (y: Argv<GlobalOptions>) => withVmRoot(y) as unknown as Argv<AgentRunArgs>,
        handler: action('agent run', async (args: AgentRunArgs) => (await import('./run.js')).agentRun(args), { logToFile: true }),
      })
      .demandCommand(1),
  handler: () => undefined,
};
