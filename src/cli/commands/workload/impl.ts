import { runWorkload, type WorkloadOptions, type WorkloadReport } from '../../../host/file/workload.js';
import { logger } from '../../../logging/logger.js';
import type { CommandResult } from '../../output.js';
import { parseSize } from '../disk/size.js';
import { fileHost } from '../vm/file-host.js';
import type { VmRootOptions } from '../vm/host.js';

const log = logger('workload');

export interface WorkloadArgs extends VmRootOptions {
  vm: string;
  seed?: number;
  rate?: string;
  'min-size': string;
  'max-size': string;
  'hot-fraction': number;
  'hot-share': number;
  'zero-share': number;
  'trim-share': number;
  disk?: string[];
  batch: number;
  duration?: number;
  count?: number;
  bytes?: string;
  journal?: string;
}

export async function workload(args: WorkloadArgs): Promise<CommandResult<WorkloadReport>> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const options: WorkloadOptions = {
    vm: args.vm,
    minSize: parseSize('min-size', args['min-size']),
    maxSize: parseSize('max-size', args['max-size']),
    hotFraction: args['hot-fraction'],
    hotShare: args['hot-share'],
    zeroShare: args['zero-share'],
    trimShare: args['trim-share'],
    batch: args.batch,
    signal: stop.signal,
  };
  if (args.seed !== undefined) options.seed = args.seed;
  if (args.rate !== undefined) options.rate = parseSize('rate', args.rate);
  if (args.disk) options.disks = args.disk;
  if (args.duration !== undefined) options.durationMs = args.duration * 1000;
  if (args.count !== undefined) options.maxWrites = args.count;
  if (args.bytes !== undefined) options.maxBytes = parseSize('bytes', args.bytes);
  if (args.journal) options.journal = args.journal;
  try {
    log.info('workload started', { vm: args.vm, seed: options.seed });
    const report = await runWorkload(fileHost(args), options);
    return {
      data: report,
      human: `${report.writes} writes (${report.bytes} bytes, ${report.zeroWrites} zero writes, ${report.trims} trims) into ${report.vm} ` +
        `in ${report.durationMs} ms, seed ${report.seed}, stopped: ${report.stoppedBecause}; layers written: ${report.layers.join(', ')}`,
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
