import type { Argv, CommandModule } from 'yargs';
import { action, type GlobalOptions } from '../../command-kit.js';
import { withVmRoot, type VmRootOptions } from '../vm/host.js';

export type AgentRunArgs = VmRootOptions & { 'metrics-port'?: number; 'metrics-host': string };

export const agentCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'agent <action>',
  describe: 'This host as a primary: the agent that replicates every primary relationship on schedule',
  builder: (yargs) =>
    yargs
      .command({
        command: 'run',
        describe: 'Run replication cycles of every primary VM at its frequency until stopped (SIGINT/SIGTERM)',
        builder: (y: Argv<GlobalOptions>) =>
          withVmRoot(y)
            .option('metrics-port', { type: 'number', describe: 'Serve Prometheus metrics on GET /metrics at this port (0: any free port)' })
            .option('metrics-host', { type: 'string', default: '127.0.0.1', describe: 'Address of the metrics listener (default: this host only)' }) as unknown as Argv<AgentRunArgs>,
        handler: action('agent run', async (args: AgentRunArgs) => (await import('./run.js')).agentRun(args), { logToFile: true }),
      })
      .demandCommand(1),
  handler: () => undefined,
};
