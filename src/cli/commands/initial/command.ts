import type { Argv, CommandModule } from 'yargs';
import { action, type GlobalOptions } from '../../command-kit.js';
import { withVmRoot, type VmRootOptions } from '../vm/host.js';

export interface InitialArgs extends VmRootOptions {
  'vm-name': string;
  'destination-path'?: string;
  'initial-replication-start-time'?: string;
  'use-backup'?: boolean;
  path?: string;
  progress?: boolean;
  wait?: boolean;
  'bandwidth-limit'?: string;
  /** Set by `initial start` for the background process it starts: the file its output goes to. */
  'background-log'?: string;
}

const vmName = (y: Argv<GlobalOptions>) => withVmRoot(y).option('vm-name', { type: 'string', demandOption: true, describe: 'VM name' });
const run = (verb: 'start' | 'stop' | 'import') =>
  action(`initial ${verb}`, async (args: InitialArgs) => (await import('./impl.js'))[verb === 'import' ? 'importInitial' : verb](args), { logToFile: true });

export const initialCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'initial <action>',
  describe: 'Initial replication of a VM (…-VMInitialReplication): over the network, scheduled, or by media',
  builder: (yargs) =>
    yargs
      .command({
        command: 'start',
        describe: 'Copy the VM to its replica now (in the background; --wait to wait), at a start time, or into a folder for removable media',
        builder: (y: Argv<GlobalOptions>) =>
          vmName(y)
            .option('destination-path', { type: 'string', describe: 'Export into <DIR>/<VMName>_<VMId>/ instead of sending' })
            .option('initial-replication-start-time', { type: 'string', describe: 'ISO 8601, at most 7 days ahead: the agent starts it then' })
            .option('use-backup', { type: 'boolean', describe: 'Start from a copy of the disks registered on the replica (initial import --use-backup): only differences are sent' })
            .option('wait', { type: 'boolean', describe: 'Run the copy here and return when it is done (default: in a background process, returning once it has started)' })
            .option('bandwidth-limit', { type: 'string', describe: 'Cap the upload rate of the copy, e.g. 10MB/s (hvreplica; Hyper-V uses a QoS policy)' })
            .option('background-log', { type: 'string', hidden: true })
            .option('progress', { type: 'boolean', describe: 'Show transfer progress on stderr (default: on a terminal)' }) as unknown as Argv<InitialArgs>,
        handler: run('start'),
      })
      .command({ command: 'stop', describe: 'Cancel a running (in any process), scheduled or interrupted initial replication', builder: vmName as (y: Argv<GlobalOptions>) => Argv<InitialArgs>, handler: run('stop') })
      .command({
        command: 'import',
        describe: 'On the replica: load an initial replication exported to removable media, or register a copy of the disks (--use-backup)',
        builder: (y: Argv<GlobalOptions>) =>
          vmName(y)
            .option('path', { type: 'string', demandOption: true, describe: 'The export folder (or the folder that holds it); with --use-backup, the folder of copied .vhdx files' })
            .option('use-backup', { type: 'boolean', describe: 'Register a copy of the disks (a restored backup) for "initial start --use-backup" instead of importing an export' }) as unknown as Argv<InitialArgs>,
        handler: run('import'),
      })
      .demandCommand(1),
  handler: () => undefined,
};
