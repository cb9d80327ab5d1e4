import { replicateVm, type CycleReport } from '../../../agent/replicate-vm.js';
import type { CommandResult } from '../../output.js';
import { formatBytes, progressReporter } from '../../progress.js';
import { openHostAdapter } from '../replication/host.js';
import type { ReplicateArgs } from './command.js';

export function cycleHuman(report: CycleReport): string {
  const what = report.Kind === 'initial' ? 'Initial replication' : `Delta cycle ${report.Sequence}`;
  return `${what} of ${report.VMName}: ${formatBytes(report.ChangedBytes)} of disk changes sent as ${formatBytes(report.LogBytes)} of log in ${report.LatencySec.toFixed(1)} s (generation ${report.Generation}, reference point ${report.ReferencePoint}).`;
}

export async function replicate(args: ReplicateArgs): Promise<CommandResult> {
  const showProgress = args.progress ?? (process.stderr.isTTY === true && !args.json);
  const progress = showProgress ? progressReporter(process.stderr) : undefined;
  try {
    const report = await replicateVm({
      stateDir: args['state-dir'],
      host: openHostAdapter(args),
      vm: args.vm,
      ...(progress ? { onProgress: (p) => progress.update(p) } : {}),
    });
    return { data: report, human: cycleHuman(report) };
  } finally {
    progress?.done();
  }
}
