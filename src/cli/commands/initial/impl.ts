/**
 * `initial start|stop|import` (Start-/Stop-/Import-VMInitialReplication). Start over the network runs
 * the full copy in the foreground with progress and returns when it is acknowledged; with a start time
 * it only records the time, and the agent starts the copy then; with a destination path it exports.
 */
import { hostname } from 'node:os';
import { withCycleLock } from '../../../agent/cycle-lock.js';
import { AgentError } from '../../../agent/errors.js';
import { ExportSink, exportFolder } from '../../../agent/export-sink.js';
import { cycleLockFile } from '../../../agent/paths.js';
import { replicateVm, requireRelationship } from '../../../agent/replicate-vm.js';
import { RelationshipStore, type ReplicationRelationship } from '../../../relationship/index.js';
import { BackupCopies, importInitialReplication, ReplicaConfigStore, ReplicaError } from '../../../replica/index.js';
import { initialReplicationFromBackup } from '../../../agent/use-backup.js';
import type { CommandResult } from '../../output.js';
import { formatBytes, progressReporter } from '../../progress.js';
import { openHostAdapter } from '../replication/host.js';
import { replicationView } from '../replication/view.js';
import type { InitialArgs } from './command.js';

const SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000;

function invalid(message: string): never {
  throw new AgentError('ERR_INVALID_ARGUMENT', message);
}

function startTime(text: string, now: Date): Date {
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) invalid(`--initial-replication-start-time "${text}" is not an ISO 8601 date`);
  if (time.getTime() <= now.getTime() || time.getTime() > now.getTime() + SEVEN_DAYS_MS) invalid('--initial-replication-start-time must lie in the future, at most 7 days ahead');
  return time;
}

function checkStartable(rel: ReplicationRelationship): void {
  if (rel.ReplicationState !== 'ReadyForInitialReplication' && rel.ReplicationState !== 'InitialReplicationInProgress') {
    throw new AgentError('ERR_INVALID_STATE', `initial replication of '${rel.VMName}' cannot start in state ${rel.ReplicationState}`);
  }
}

export async function start(args: InitialArgs): Promise<CommandResult> {
  if (args['destination-path'] !== undefined && (args['initial-replication-start-time'] !== undefined || args['use-backup'])) {
    invalid('--destination-path cannot be combined with --initial-replication-start-time or --use-backup');
  }
  if (args['use-backup'] && args['initial-replication-start-time'] !== undefined) {
    invalid('--use-backup starts the comparison now; it cannot be scheduled with --initial-replication-start-time (run it from a scheduled task instead)');
  }
  const stateDir = args['state-dir'];
  const host = openHostAdapter(args);
  const store = new RelationshipStore(stateDir);
  const vm = await host.getVm(args['vm-name']);
  const rel = await requireRelationship(stateDir, vm.id, vm.name);
  checkStartable(rel);
  const now = new Date();
  if (args['initial-replication-start-time'] !== undefined) {
    const at = startTime(args['initial-replication-start-time'], now);
    const next = await store.update(vm.id, (current) => {
      const changed = { ...current!, InitialReplicationStartTime: at.toISOString() };
      return { next: changed, result: changed };
    });
    return { data: [replicationView(next, now)], human: `Initial replication of ${vm.name} scheduled for ${at.toISOString()}; the agent ("hvreplica agent run") starts it then.` };
  }
  if (args['use-backup']) return startFromBackup(args, vm.id);
  const destination = args['destination-path'];
  const showProgress = args.progress ?? (process.stderr.isTTY === true && !args.json);
  const progress = showProgress ? progressReporter(process.stderr) : undefined;
  try {
    await replicateVm({
      stateDir,
      host,
      vm: vm.id,
      initialOnly: true,
      ...(progress ? { onProgress: (p) => progress.update(p) } : {}),
      ...(destination !== undefined ? { sink: (definition) => new ExportSink(exportFolder(destination, definition), definition, rel.PrimaryServerName) } : {}),
    });
  } finally {
    progress?.done();
  }
  // An export is not on the replica yet: deltas are applied there once it has been imported.
  const done = await store.update(vm.id, (current) => {
    const next = destination !== undefined && current ? { ...current, ReplicationState: 'InitialReplicationInProgress' as const } : current;
    return { next, result: next! };
  });
  return { data: [replicationView(done, new Date())] };
}

/** --use-backup: the replica seeds from the copy registered there; only the blocks that differ are sent. */
async function startFromBackup(args: InitialArgs, vmId: string): Promise<CommandResult> {
  const showProgress = args.progress ?? (process.stderr.isTTY === true && !args.json);
  const progress = showProgress ? progressReporter(process.stderr) : undefined;
  let report;
  try {
    report = await initialReplicationFromBackup({ stateDir: args['state-dir'], host: openHostAdapter(args), vm: vmId, ...(progress ? { onProgress: (p) => progress.update(p) } : {}) });
  } finally {
    progress?.done();
  }
  const rel = await new RelationshipStore(args['state-dir']).get(vmId);
  return {
    data: [{ ...(rel ? replicationView(rel, new Date()) : {}), InitialReplication: report }],
    human: `Initial replication of ${report.VMName} from the copy on the replica: compared ${formatBytes(report.ComparedBytes ?? 0)}, ${formatBytes(report.ChangedBytes)} differed, sent as ${formatBytes(report.LogBytes)} of log.`,
  };
}

export async function stop(args: InitialArgs): Promise<CommandResult> {
  const stateDir = args['state-dir'];
  const vm = await openHostAdapter(args).getVm(args['vm-name']);
  const rel = await requireRelationship(stateDir, vm.id, vm.name);
  checkStartable(rel);
  // Holding the cycle lock proves no copy is running; a running one is stopped by stopping its process.
  const next = await withCycleLock(cycleLockFile(stateDir, vm.id), vm.name, () =>
    new RelationshipStore(stateDir).update(vm.id, (current) => {
      const changed = { ...current!, InitialReplicationStartTime: null, ReplicationState: 'ReadyForInitialReplication' as const };
      return { next: changed, result: changed };
    }),
  );
  return { data: [replicationView(next, new Date())] };
}

export async function importInitial(args: InitialArgs): Promise<CommandResult> {
  if (args['use-backup']) return registerBackup(args);
  const result = await importInitialReplication(args['state-dir'], args['vm-name'], args.path!);
  return {
    data: [{ Name: result.VMName, Id: result.VMId, State: 'Off', ReplicationMode: 'Replica', ReplicationState: 'Replicating', ReplicationHealth: 'Normal', ComputerName: hostname(), Path: result.Path }],
    human: `Imported the initial replication of ${result.VMName} into ${result.Path}; deltas from ${result.PrimaryServerName} are applied from now on.`,
  };
}

/**
 * `initial import --use-backup --path <folder>` on the replica: registers a copy of the VM's disks (the
 * .vhdx files in the folder, named after the primary's disks) for `initial start --use-backup` on the
 * primary. Hyper-V's counterpart marks a restored VM with Enable-VMReplication -AsReplica.
 */
async function registerBackup(args: InitialArgs): Promise<CommandResult> {
  const config = await new ReplicaConfigStore(args['state-dir']).load();
  if (!config.ReplicationEnabled) throw new ReplicaError('ERR_INVALID_STATE', 'replication is not enabled on this server; enable it with "hvreplica server set" first');
  const copy = await new BackupCopies(args['state-dir']).register(args['vm-name'], args.path!);
  return {
    data: [{ Name: copy.VMName, ReplicationMode: 'Replica', ReplicationState: 'WaitingForInitialReplication', ComputerName: hostname(), Path: copy.Path, Disks: copy.Disks }],
    human: `Registered the copy of ${copy.VMName} in ${copy.Path} (${copy.Disks.map((d) => d.File).join(', ')}); on the primary run "hvreplica initial start --vm-name ${copy.VMName} --use-backup".`,
  };
}
