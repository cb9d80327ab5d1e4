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
import { importInitialReplication } from '../../../replica/index.js';
import type { CommandResult } from '../../output.js';
import { progressReporter } from '../../progress.js';
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
  if (args['use-backup']) throw new AgentError('ERR_NOT_SUPPORTED', 'initial replication from an existing copy on the replica (--use-backup) is not available yet; replicate over the network or by media');
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
  const result = await importInitialReplication(args['state-dir'], args['vm-name'], args.path!);
  return {
    data: [{ Name: result.VMName, Id: result.VMId, State: 'Off', ReplicationMode: 'Replica', ReplicationState: 'Replicating', ReplicationHealth: 'Normal', ComputerName: hostname(), Path: result.Path }],
    human: `Imported the initial replication of ${result.VMName} into ${result.Path}; deltas from ${result.PrimaryServerName} are applied from now on.`,
  };
}
