/**
 * `initial start|stop|import` (Start-/Stop-/Import-VMInitialReplication). Start over the network (or
 * from a copy on the replica, --use-backup) hands the copy to a background process and returns with the
 * relationship InitialReplicationInProgress (--wait runs it here, with progress, to its end); with a
 * start time it only records the time (and the method), and the agent starts the copy then; with a
 * destination path it exports.
 */
import { hostname } from 'node:os';
import { cycleBusyError, cycleLockHolder, requestCycleCancel, withCycleLock } from '../../../agent/cycle-lock.js';
import { readInitialProgress } from '../../../agent/initial-progress.js';
import { initialAcknowledged, runInitialReplication } from '../../../agent/initial-run.js';
import { BandwidthSchedule } from '../../../transport/index.js';
import { startInBackground } from './background.js';
import { AgentError } from '../../../agent/errors.js';
import { ExportSink, exportFolder } from '../../../agent/export-sink.js';
import { cycleLockFile } from '../../../agent/paths.js';
import { replicateVm, requireRelationship, type CycleReport } from '../../../agent/replicate-vm.js';
import { RelationshipStore, type ReplicationRelationship } from '../../../relationship/index.js';
import { BackupCopies, importInitialReplication, ReplicaConfigStore, ReplicaError } from '../../../replica/index.js';
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

/** Start-/Stop-VMInitialReplication's states, and Error left by a failed copy (not by a failed delta). */
async function checkStartable(stateDir: string, rel: ReplicationRelationship): Promise<void> {
  const state = rel.ReplicationState;
  const ok = state === 'ReadyForInitialReplication' || state === 'InitialReplicationInProgress' || (state === 'Error' && !(await initialAcknowledged(stateDir, rel.VMId)));
  if (!ok) throw new AgentError('ERR_INVALID_STATE', `initial replication of '${rel.VMName}' cannot start or stop in state ${rel.ReplicationState}`);
}

function bandwidthOf(args: InitialArgs): BandwidthSchedule | undefined {
  const limit = args['bandwidth-limit'];
  if (limit === undefined) return undefined;
  try {
    return BandwidthSchedule.parse([], limit);
  } catch (error) {
    return invalid(`--bandwidth-limit "${limit}": ${(error as Error).message}`);
  }
}

export async function start(args: InitialArgs): Promise<CommandResult> {
  if (args['destination-path'] !== undefined && (args['initial-replication-start-time'] !== undefined || args['use-backup'])) {
    invalid('--destination-path cannot be combined with --initial-replication-start-time or --use-backup');
  }
  if (args['initial-replication-start-time'] !== undefined && args.wait) invalid('--wait waits for a copy that starts now; a scheduled copy is started by the agent');
  const bandwidth = bandwidthOf(args);
  const stateDir = args['state-dir'];
  const host = openHostAdapter(args);
  const store = new RelationshipStore(stateDir);
  const vm = await host.getVm(args['vm-name']);
  const rel = await requireRelationship(stateDir, vm.id, vm.name);
  await checkStartable(stateDir, rel);
  const now = new Date();
  if (args['initial-replication-start-time'] !== undefined) {
    const at = startTime(args['initial-replication-start-time'], now);
    const next = await store.update(vm.id, (current) => {
      const changed = { ...current!, InitialReplicationStartTime: at.toISOString(), InitialReplicationUseBackup: args['use-backup'] === true };
      return { next: changed, result: changed };
    });
    const how = args['use-backup'] ? ' from the copy registered on the replica' : '';
    return { data: [replicationView(next, now)], human: `Initial replication of ${vm.name}${how} scheduled for ${at.toISOString()}; the agent ("hvreplica agent run") starts it then.` };
  }
  const destination = args['destination-path'];
  if (destination !== undefined) return exportInitial(args, vm.id, rel.PrimaryServerName, destination);
  if (!args.wait) return startDetached(args, vm);
  const showProgress = args.progress ?? (process.stderr.isTTY === true && !args.json);
  const progress = showProgress ? progressReporter(process.stderr) : undefined;
  let report: CycleReport;
  try {
    report = await runInitialReplication({
      stateDir,
      host,
      vmId: vm.id,
      vmName: vm.name,
      ...(args['use-backup'] ? { useBackup: true } : {}),
      ...(bandwidth ? { bandwidth } : {}),
      ...(args['background-log'] !== undefined ? { logFile: args['background-log'] } : {}),
      ...(progress ? { onProgress: (p) => progress.update(p) } : {}),
    });
  } finally {
    progress?.done();
  }
  const done = await store.get(vm.id);
  const view = done ? replicationView(done, new Date()) : {};
  if (!args['use-backup']) return { data: [view] };
  return {
    data: [{ ...view, InitialReplication: report }],
    human: `Initial replication of ${report.VMName} from the copy on the replica: compared ${formatBytes(report.ComparedBytes ?? 0)}, ${formatBytes(report.ChangedBytes)} differed, sent as ${formatBytes(report.LogBytes)} of log.`,
  };
}

/** The copy in a background process; returns the relationship in InitialReplicationInProgress. */
async function startDetached(args: InitialArgs, vm: { id: string; name: string }): Promise<CommandResult> {
  const stateDir = args['state-dir'];
  const store = new RelationshipStore(stateDir);
  const holder = await cycleLockHolder(cycleLockFile(stateDir, vm.id));
  if (holder !== undefined) throw cycleBusyError(vm.name, holder, ', or stop it with "hvreplica initial stop"');
  const before = await store.update(vm.id, (current) => ({
    next: current && { ...current, ReplicationState: 'InitialReplicationInProgress' as const, InitialReplicationStartTime: null, InitialReplicationUseBackup: false },
    result: current,
  }));
  const extraArgs = [
    ...(args['vm-root'] !== undefined ? [`--vm-root=${args['vm-root']}`] : []),
    ...(args['use-backup'] ? ['--use-backup'] : []),
    ...(args['bandwidth-limit'] !== undefined ? [`--bandwidth-limit=${args['bandwidth-limit']}`] : []),
  ];
  let started: { pid: number; logFile: string };
  try {
    started = await startInBackground({ stateDir, vmId: vm.id, vmName: vm.name, extraArgs });
  } catch (error) {
    // Nothing runs: the relationship is as it was (unless the child got far enough to record its failure).
    if ((await readInitialProgress(stateDir, vm.id))?.Status !== 'Failed') await store.update(vm.id, (current) => ({ next: current && before && { ...current, ReplicationState: before.ReplicationState }, result: undefined }));
    throw error;
  }
  const rel = (await store.get(vm.id))!;
  return {
    data: [replicationView(rel, new Date())],
    human: `Initial replication of ${vm.name} started in process ${started.pid} (log: ${started.logFile}); follow it with "hvreplica replication measure --vm-name ${vm.name}", stop it with "hvreplica initial stop --vm-name ${vm.name}".`,
  };
}

/** --destination-path: the initial copy exported for removable media, in the foreground with progress. */
async function exportInitial(args: InitialArgs, vmId: string, primaryServerName: string, destination: string): Promise<CommandResult> {
  const stateDir = args['state-dir'];
  const showProgress = args.progress ?? (process.stderr.isTTY === true && !args.json);
  const progress = showProgress ? progressReporter(process.stderr) : undefined;
  try {
    await replicateVm({
      stateDir,
      host: openHostAdapter(args),
      vm: vmId,
      initialOnly: true,
      ...(progress ? { onProgress: (p) => progress.update(p) } : {}),
      sink: (definition) => new ExportSink(exportFolder(destination, definition), definition, primaryServerName),
    });
  } finally {
    progress?.done();
  }
  // An export is not on the replica yet: deltas are applied there once it has been imported.
  const done = await new RelationshipStore(stateDir).update(vmId, (current) => {
    const next = current ? { ...current, ReplicationState: 'InitialReplicationInProgress' as const } : current;
    return { next, result: next! };
  });
  return { data: [replicationView(done, new Date())] };
}

/**
 * Stop-VMInitialReplication: a copy running in another process is asked to stop (the cycle lock's cancel
 * marker) and waited for; its reference point is discarded as after any failed cycle, and the replica
 * applies nothing of it. A scheduled start is forgotten. The relationship is ReadyForInitialReplication.
 */
export async function stop(args: InitialArgs): Promise<CommandResult> {
  const stateDir = args['state-dir'];
  const vm = await openHostAdapter(args).getVm(args['vm-name']);
  const rel = await requireRelationship(stateDir, vm.id, vm.name);
  await checkStartable(stateDir, rel);
  const lock = cycleLockFile(stateDir, vm.id);
  // A copy this stops records itself as Cancelled (initial-run.ts) before this goes on.
  const stopped = await requestCycleCancel(lock, vm.name, {
    settled: async (holder) => {
      const progress = await readInitialProgress(stateDir, vm.id);
      return progress?.Pid !== holder || progress.Status !== 'Running';
    },
  });
  const next = await withCycleLock(lock, vm.name, async () => {
    if (await initialAcknowledged(stateDir, vm.id)) {
      throw new AgentError('ERR_INVALID_STATE', `the initial replication of '${vm.name}' completed before it could be stopped; the relationship replicates deltas now`);
    }
    return new RelationshipStore(stateDir).update(vm.id, (current) => {
      const changed = { ...current!, InitialReplicationStartTime: null, InitialReplicationUseBackup: false, ReplicationState: 'ReadyForInitialReplication' as const };
      return { next: changed, result: changed };
    });
  });
  return {
    data: [replicationView(next, new Date())],
    human: stopped !== undefined ? `Stopped the initial replication of ${vm.name} that ran in process ${stopped}; nothing of it was applied on the replica.` : `Initial replication of ${vm.name} is ready to start again.`,
  };
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
