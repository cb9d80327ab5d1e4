import { replicateVm, type CycleReport } from '../../../agent/replicate-vm.js';
import type { CommandResult } from '../../output.js';
import { formatBytes, progressReporter } from '../../progress.js';
import { openHostAdapter } from '../replication/host.js';
import type { ReplicateArgs } from './command.js';

export function cycleHuman(report: CycleReport): string {
  const what = report.Kind === 'initial' ? 'Initial replication' : report.Kind === 'resync' ? `Resynchronization (cycle ${report.Sequence})` : `Delta cycle ${report.Sequence}`;
  return `${what} of ${report.VMName}: ${formatBytes(report.ChangedBytes)} of disk changes sent as ${formatBytes(report.LogBytes)} of log in ${report.LatencySec.toFixed(1)} s (generation ${report.Generation}, reference point ${report.ReferencePoint}).`;
}

export async function replicate(args: ReplicateArgs): Promise<CommandResult> {
  const showProgress = args.progress ?? (process.stderr.isTTY === true && !args.json);
  const progress = showProgress ? progressReporter(process.stderr) : undefined;
  try {
    if (args.extended) {
      const { replicateExtendedVm, extendedCycleHuman } = await import('../../../agent/extended-replicate.js');
      const report = await replicateExtendedVm({ stateDir: args['state-dir'], vm: args.vm, ...(progress ? { onProgress: (p) => progress.update(p) } : {}) });
      // Nothing new on this replica since the last extended cycle: the extended replica already holds it.
      return report ? { data: report, human: extendedCycleHuman(report) } : { data: null, human: `The extended replica of ${args.vm} already holds this server's latest applied content; nothing was sent.` };
    }
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
