import { configureLogging } from '../../../logging/logger.js';
import { runDemo, type DemoSummary } from '../../../demo/run-demo.js';
import { formatBytes } from '../../../util/format-bytes.js';
import { CliError } from '../../cli-error.js';
import { ExitCode } from '../../exit-codes.js';
import type { CommandResult } from '../../output.js';
import { progressReporter } from '../../progress.js';
import type { DemoArgs } from './command.js';

function checkRange(value: number, name: string, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new CliError('ERR_INVALID_ARGUMENT', `--${name} must be an integer from ${min} to ${max}`, ExitCode.Usage);
}

function proof(summary: DemoSummary): string {
  const lines = [
    '',
    summary.Verified
      ? 'PROVED: the replica equals the primary, byte for byte, at every recovery point, and the VM failed over with nothing lost.'
      : 'NOT PROVED: the replica differs from the primary (see the hashes below).',
    `  ${summary.Cycles} cycles (1 initial + ${summary.Cycles - 1} deltas, the last one the planned failover's) over TLS 1.3 with mutual certificates, ${summary.SuccessfulReplicationCount} recorded as successful; primary now ${summary.ReplicationState}`,
    `  planned failover: the replica is ${summary.Failover.ReplicaState} (${summary.Failover.FailedOverReplicationType}), its VM ${summary.Failover.VMState}; disks ${summary.Failover.Equal ? 'equal' : 'DIFFERENT from'} the primary at shutdown`,
    `  bytes sent: ${formatBytes(summary.BytesSent)} (initial ${formatBytes(summary.InitialReplicationBytes)}, deltas ${formatBytes(summary.DeltaBytes)}) for ${summary.Disks} × ${formatBytes(summary.DiskSizeBytes)} of disks; the guest wrote ${formatBytes(summary.WorkloadBytesWritten)}`,
    `  recovery points checked: ${summary.RecoveryPoints.filter((p) => p.Equal).length} of ${summary.RecoveryPoints.length} equal to the primary at their reference point`,
    `  last reference point ${summary.LastReferencePoint}:`,
    ...summary.Hashes.map((h) => `    disk ${h.DiskId}  primary ${h.PrimarySha256.slice(0, 16)}…  replica ${h.ReplicaSha256.slice(0, 16)}…  ${h.Equal ? 'equal' : 'DIFFERENT'}`),
    `  took ${summary.DurationSec.toFixed(1)} s${summary.Folder ? `; files kept in ${summary.Folder}` : ''}`,
  ];
  return lines.join('\n');
}

export async function demo(args: DemoArgs): Promise<CommandResult> {
  checkRange(args['disk-size-mib'], 'disk-size-mib', 8, 1024);
  checkRange(args.disks, 'disks', 1, 8);
  checkRange(args['delta-cycles'], 'delta-cycles', 1, 20);
  // The narration tells the story; component logs would drown it unless asked for.
  if (args['log-level'] === undefined && process.env.HVR_LOG_LEVEL === undefined) configureLogging({ level: 'warn', jsonConsole: args.json });
  // With --json, stdout carries only the summary object; the narration goes to stderr.
  const out = args.json ? process.stderr : process.stdout;
  const progress = progressReporter(process.stderr);
  const summary = await runDemo({
    diskSizeMiB: args['disk-size-mib'],
    disks: args.disks,
    deltaCycles: args['delta-cycles'],
    keep: args.keep,
    onProgress: (p) => progress.update(p),
    say: (line) => {
      progress.done();
      out.write(`${line}\n`);
    },
  });
  progress.done();
  if (!summary.Verified) throw new CliError('ERR_VERIFICATION_FAILED', `the replica does not equal the primary:${proof(summary)}`, ExitCode.Failure);
  return { data: summary, human: proof(summary) };
}
