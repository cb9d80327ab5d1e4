import type { Argv, CommandModule } from 'yargs';
import { action, type GlobalOptions } from '../../command-kit.js';

type Impl = typeof import('./impl.js');
const impl = async (): Promise<Impl> => import('./impl.js');

/** `hvreplica disk …`: qemu-img-like administration of VHDX files through hvreplica's own engine. */
export const diskCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'disk <action>',
  describe: 'VHDX files: info, check, map, create, convert, compare, merge, reparent (like qemu-img)',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .command({
        command: 'info <path>',
        describe: 'Show a VHDX file: type, sizes, GUIDs, parent locator and chain',
        builder: (y: Argv<GlobalOptions>) => y.positional('path', { type: 'string', demandOption: true }),
        handler: action('disk info', async (args: GlobalOptions & { path: string }) => (await impl()).diskInfo(args)),
      })
      .command({
        command: 'check <path>',
        describe: 'Check the structure of one VHDX file (headers, regions, metadata, BAT, log); exit 1 if damaged',
        builder: (y: Argv<GlobalOptions>) => y.positional('path', { type: 'string', demandOption: true }),
        handler: action('disk check', async (args: GlobalOptions & { path: string }) => (await impl()).diskCheck(args)),
      })
      .command({
        command: 'map <path>',
        describe: 'List data, zero and absent extents of the chain, or of this layer only',
        builder: (y: Argv<GlobalOptions>) =>
          y
            .positional('path', { type: 'string', demandOption: true })
            .option('layer-only', { type: 'boolean', default: false, describe: 'Only what this layer holds (sector precision)' })
            .option('offset', { type: 'string', describe: 'Start of the range (bytes; K/M/G/T suffixes)' })
            .option('length', { type: 'string', describe: 'Length of the range (bytes; K/M/G/T suffixes)' }),
        handler: action('disk map', async (args: GlobalOptions & { path: string; 'layer-only': boolean; offset?: string; length?: string }) =>
          (await impl()).diskMap(args),
        ),
      })
      .command({
        command: 'create <path>',
        describe: 'Create a dynamic, fixed or differencing VHDX',
        builder: (y: Argv<GlobalOptions>) =>
          y
            .positional('path', { type: 'string', demandOption: true })
            .option('type', { choices: ['dynamic', 'fixed', 'differencing'] as const, default: 'dynamic' as const })
            .option('size', { type: 'string', describe: 'Virtual size (bytes; K/M/G/T suffixes); not for differencing' })
            .option('block-size', { type: 'string', describe: 'Block size, 1M–256M (power of two)' })
            .option('logical-sector-size', { choices: [512, 4096] as const })
            .option('physical-sector-size', { choices: [512, 4096] as const })
            .option('parent', { type: 'string', describe: 'Parent file of a differencing disk' }),
        handler: action('disk create', async (args: Parameters<Impl['diskCreate']>[0]) => (await impl()).diskCreate(args)),
      })
      .command({
        command: 'convert <source> <target>',
        describe: 'Convert between raw and VHDX (either direction, or VHDX to a flattened VHDX)',
        builder: (y: Argv<GlobalOptions>) =>
          y
            .positional('source', { type: 'string', demandOption: true })
            .positional('target', { type: 'string', demandOption: true })
            .option('target-format', { choices: ['raw', 'vhdx'] as const, describe: 'Default: from the target extension (.vhdx/.avhdx → vhdx)' })
            .option('type', { choices: ['dynamic', 'fixed'] as const, default: 'dynamic' as const, describe: 'Type of a VHDX target' })
            .option('block-size', { type: 'string', describe: 'Block size of a VHDX target' }),
        handler: action('disk convert', async (args: Parameters<Impl['diskConvert']>[0]) => (await impl()).diskConvert(args)),
      })
      .command({
        command: 'compare <first> <second>',
        describe: 'Compare the virtual content of two disks (raw or VHDX); exit 1 if they differ',
        builder: (y: Argv<GlobalOptions>) =>
          y.positional('first', { type: 'string', demandOption: true }).positional('second', { type: 'string', demandOption: true }),
        handler: action('disk compare', async (args: GlobalOptions & { first: string; second: string }) => (await impl()).diskCompare(args)),
      })
      .command({
        command: 'merge <child>',
        describe: 'Merge a differencing layer into its parent (crash-safe; run again to resume)',
        builder: (y: Argv<GlobalOptions>) => y.positional('child', { type: 'string', demandOption: true }),
        handler: action('disk merge', async (args: GlobalOptions & { child: string }) => (await impl()).diskMerge(args)),
      })
      .command({
        command: 'reparent <child> <parent>',
        describe: 'Point a differencing disk at another parent with the same content (e.g. the file its parent was merged into)',
        builder: (y: Argv<GlobalOptions>) =>
          y.positional('child', { type: 'string', demandOption: true }).positional('parent', { type: 'string', demandOption: true }),
        handler: action('disk reparent', async (args: GlobalOptions & { child: string; parent: string }) => (await impl()).diskReparent(args)),
      })
      .demandCommand(1),
  handler: () => undefined,
};
