import type { Argv, CommandModule } from 'yargs';
import { action, type GlobalOptions } from '../../command-kit.js';

export interface DemoArgs extends GlobalOptions {
  'disk-size-mib': number;
  disks: number;
  'delta-cycles': number;
  keep: boolean;
}

/** `hvreplica demo`: primary, replica server and verification on localhost in a temporary folder. */
const demo: CommandModule<GlobalOptions, DemoArgs> = {
  command: 'demo',
  describe: 'Replicate a demo VM to a replica server on this machine and prove the copy exact (temporary folder)',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .option('disk-size-mib', { type: 'number', default: 64, describe: 'Size of each disk of the demo VM (MiB, 8-1024)' })
      .option('disks', { type: 'number', default: 2, describe: 'Number of disks (1-8)' })
      .option('delta-cycles', { type: 'number', default: 3, describe: 'Delta cycles after the initial replication (1-20)' })
      .option('keep', { type: 'boolean', default: false, describe: 'Keep the temporary folder to look at afterwards' }) as unknown as Argv<DemoArgs>,
  handler: action('demo', async (args: DemoArgs) => (await import('./impl.js')).demo(args)),
};

// The registry holds every noun at the global-options type; this noun's own options are checked above.
export const demoCommand = demo as unknown as CommandModule<GlobalOptions, GlobalOptions>;
