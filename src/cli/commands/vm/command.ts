import type { Argv, CommandModule } from 'yargs';
import { action, type GlobalOptions } from '../../command-kit.js';
import { withVmRoot } from './host.js';

type Impl = typeof import('./impl.js');
const impl = async (): Promise<Impl> => import('./impl.js');

/** `hvreplica vm …`: VMs of the portable file host (a folder with vm.json and VHDX disks). */
export const vmCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'vm <action>',
  describe: 'File-host VMs: new, list, show, start, stop, remove',
  builder: (yargs: Argv<GlobalOptions>) =>
    withVmRoot(yargs)
      .command({
        command: 'new',
        describe: 'Create a VM with empty dynamic VHDX disks (off)',
        builder: (y) =>
          y
            .option('name', { type: 'string', demandOption: true, describe: 'VM name (letters, digits, . _ -)' })
            .option('disk', { type: 'string', array: true, demandOption: true, describe: 'Virtual size of a disk, e.g. 8GiB; repeat for more disks' })
            .option('generation', { choices: [1, 2] as const, default: 2 as const })
            .option('processors', { type: 'number', default: 2 })
            .option('memory', { type: 'string', default: '2GiB', describe: 'Startup memory' })
            .option('block-size', { type: 'string', describe: 'VHDX block size of the disks (default 32MiB)' }),
        handler: action('vm new', async (args: Parameters<Impl['vmNew']>[0]) => (await impl()).vmNew(args), { logToFile: true }),
      })
      .command({
        command: 'list',
        describe: 'List the VMs',
        handler: action('vm list', async (args: Parameters<Impl['vmList']>[0]) => (await impl()).vmList(args)),
      })
      .command({
        command: 'show <name>',
        describe: 'Show a VM: configuration, disks with their current layers, reference points',
        builder: (y) => y.positional('name', { type: 'string', demandOption: true, describe: 'VM name or id' }),
        handler: action('vm show', async (args: Parameters<Impl['vmShow']>[0]) => (await impl()).vmShow(args)),
      })
      .command({
        command: 'start <name>',
        describe: 'Record the VM as running (the workload command writes only into running VMs)',
        builder: (y) => y.positional('name', { type: 'string', demandOption: true }),
        handler: action('vm start', async (args: Parameters<Impl['vmStart']>[0]) => (await impl()).vmStart(args), { logToFile: true }),
      })
      .command({
        command: 'stop <name>',
        describe: 'Record the VM as off',
        builder: (y) => y.positional('name', { type: 'string', demandOption: true }),
        handler: action('vm stop', async (args: Parameters<Impl['vmStop']>[0]) => (await impl()).vmStop(args), { logToFile: true }),
      })
      .command({
        command: 'remove <name>',
        describe: 'Delete a VM and all its files',
        builder: (y) =>
          y.positional('name', { type: 'string', demandOption: true }).option('force', { type: 'boolean', default: false, describe: 'Also when running' }),
        handler: action('vm remove', async (args: Parameters<Impl['vmRemove']>[0]) => (await impl()).vmRemove(args), { logToFile: true }),
      })
      .demandCommand(1),
  handler: () => undefined,
};
