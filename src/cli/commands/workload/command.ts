import type { Argv, CommandModule } from 'yargs';
import { action, type GlobalOptions } from '../../command-kit.js';
import { withVmRoot } from '../vm/host.js';

type Impl = typeof import('./impl.js');

/** `hvreplica workload --vm NAME`: a synthetic guest writing into a running file-host VM. */
const workload: CommandModule<GlobalOptions, Parameters<Impl['workload']>[0]> = {
  command: 'workload',
  describe: 'Write into a running file-host VM\'s disks the way a guest does, until stopped (Ctrl+C) or a limit',
  builder: (yargs: Argv<GlobalOptions>) =>
    (withVmRoot(yargs)
      .option('vm', { type: 'string', demandOption: true, describe: 'VM name or id' })
      .option('seed', { type: 'number', describe: 'Seed of every choice and of the data (default random, reported)' })
      .option('rate', { type: 'string', describe: 'Bytes per second, e.g. 20MiB (default: as fast as possible)' })
      .option('min-size', { type: 'string', default: '4KiB', describe: 'Smallest write (multiple of 512)' })
      .option('max-size', { type: 'string', default: '256KiB', describe: 'Largest write; sizes are log-uniform in between' })
      .option('hot-fraction', { type: 'number', default: 0.1, describe: 'Part of each disk that is hot (0–1]' })
      .option('hot-share', { type: 'number', default: 0.8, describe: 'Share of writes that go to the hot part [0–1]' })
      .option('zero-share', { type: 'number', default: 0.05, describe: 'Share of writes that write zeros' })
      .option('trim-share', { type: 'number', default: 0.02, describe: 'Share of writes that trim (UNMAP)' })
      .option('disk', { type: 'string', array: true, describe: 'Only these disk ids (default all)' })
      .option('batch', { type: 'number', default: 8, describe: 'Writes per lock hold' })
      .option('duration', { type: 'number', describe: 'Stop after this many seconds' })
      .option('count', { type: 'number', describe: 'Stop after this many writes' })
      .option('bytes', { type: 'string', describe: 'Stop after this many bytes, e.g. 1GiB' })
      .option('journal', { type: 'string', describe: 'Append one JSON line per write to this file' }) as unknown as Argv<Parameters<Impl['workload']>[0]>),
  handler: action('workload', async (args: Parameters<Impl['workload']>[0]) => (await import('./impl.js')).workload(args)),
};

// The registry holds every noun at the global-options type; this noun's own options are checked above.
export const workloadCommand = workload as unknown as CommandModule<GlobalOptions, GlobalOptions>;
