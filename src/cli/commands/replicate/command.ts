import type { Argv, CommandModule } from 'yargs';
import { action, type GlobalOptions } from '../../command-kit.js';
import { withVmRoot, type VmRootOptions } from '../vm/host.js';

export interface ReplicateArgs extends VmRootOptions {
  vm: string;
  progress?: boolean;
  extended?: boolean;
}

/** `hvreplica replicate --vm NAME`: one cycle and exit, for scheduled tasks on hosts without an agent. */
const replicate: CommandModule<GlobalOptions, ReplicateArgs> = {
  command: 'replicate',
  describe: 'Run one replication cycle of a VM to its replica server and exit',
  builder: (yargs: Argv<GlobalOptions>) =>
    withVmRoot(yargs)
      .option('vm', { type: 'string', demandOption: true, describe: 'VM name or id' })
      .option('progress', { type: 'boolean', describe: 'Show transfer progress on stderr (default: on a terminal)' })
      .option('extended', { type: 'boolean', describe: 'On a replica server: send the replica VM\'s extended replication cycle to its extended replica (A→B→C)' }) as unknown as Argv<ReplicateArgs>,
  handler: action('replicate', async (args: ReplicateArgs) => (await import('./impl.js')).replicate(args), { logToFile: true }),
};

// The registry holds every noun at the global-options type; this noun's own options are checked above.
export const replicateCommand = replicate as unknown as CommandModule<GlobalOptions, GlobalOptions>;
