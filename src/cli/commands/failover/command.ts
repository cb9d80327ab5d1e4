import type { Argv, CommandModule } from 'yargs';
import { action, type GlobalOptions } from '../../command-kit.js';

export interface FailoverArgs extends GlobalOptions {
  'vm-name': string;
  prepare?: boolean;
  'as-test'?: boolean;
  'recovery-point'?: string;
  'peer-state-dir'?: string;
}

type Impl = typeof import('./impl.js');
const impl = async (): Promise<Impl> => import('./impl.js');

const vmName = (y: Argv<GlobalOptions>) =>
  y.option('vm-name', { type: 'string', demandOption: true, describe: 'VM name, or a pattern with * and ?' }) as unknown as Argv<FailoverArgs>;

/**
 * Same-machine setups and tests only: the state directory of the other host of the relationship, so that
 * steps that need both hosts (a planned prepare shipping the last changes; the split-brain guard) run in
 * process. Hidden: across machines the other host is reached over the network, not through its files.
 */
const peer = (y: Argv<FailoverArgs>) => y.option('peer-state-dir', { type: 'string', hidden: true, describe: 'State directory of the other host (same machine)' }) as unknown as Argv<FailoverArgs>;

/** `hvreplica failover …`: Start-, Complete- and Stop-HvrVMFailover (docs/cli-contract.md §3.7). */
export const failoverCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'failover <action>',
  describe: 'Failover: test, planned (prepare on the primary), unplanned; complete or cancel (…-VMFailover)',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .command({
        command: 'start',
        describe: 'Fail over on the replica (latest or a chosen point), --as-test for a test VM, or --prepare on the primary',
        builder: (y) =>
          peer(vmName(y))
            .option('prepare', { type: 'boolean', describe: 'On the primary, VM off: send the last changes and mark it PreparedForFailover' })
            .option('as-test', { type: 'boolean', describe: "Create the test VM '<name> - Test' on the chosen point, network disconnected; replication goes on" })
            .option('recovery-point', {
              type: 'string',
              alias: 'vm-recovery-snapshot',
              describe: "Id of a recovery point (recovery-point list), or 'latest' (default) or 'application-consistent' (the newest one)",
            }) as unknown as Argv<FailoverArgs>,
        handler: action('failover start', async (args: FailoverArgs) => (await impl()).failoverStart(args), { logToFile: true }),
      })
      .command({
        command: 'complete',
        describe: 'Commit a failover: keep the chosen point, delete the other recovery points (FailedOver)',
        builder: (y) => vmName(y),
        handler: action('failover complete', async (args: FailoverArgs) => (await impl()).failoverComplete(args), { logToFile: true }),
      })
      .command({
        command: 'stop',
        describe: 'Stop a test failover, or cancel a failover (back to Replicating) or a prepare',
        builder: (y) => vmName(y),
        handler: action('failover stop', async (args: FailoverArgs) => (await impl()).failoverStop(args), { logToFile: true }),
      })
      .demandCommand(1),
  handler: () => undefined,
};
