/**
 * One initial replication run to its end, recording its progress and outcome for `replication get|measure`
 * (initial-progress.ts): over the network from the primary's disks, or from a copy on the replica
 * (UsingBackup). `initial start` runs it in a background process and returns once it has started, as
 * Start-VMInitialReplication does; `initial start --wait` and the agent's scheduled start run it in place.
 *
 * Outcome: completed → Replicating (the cycle's own bookkeeping); stopped by `initial stop` → Cancelled,
 * the relationship left to the stop; failed → the relationship in Error (health Critical) with the error
 * in the progress file, so a failed copy never shows as in progress.
 */
import { logger } from '../logging/logger.js';
import { RelationshipStore } from '../relationship/index.js';
import type { DeliveryProgress } from '../transport/index.js';
import { cancelRequested, cycleBusyError, cycleLockHolder } from './cycle-lock.js';
import { AgentError } from './errors.js';
import { InitialProgressRecorder } from './initial-progress.js';
import { cycleLockFile, primaryStateFile } from './paths.js';
import { loadPrimaryState } from '../engine/primary-state.js';
import { replicateVm, type CycleReport, type ReplicateOptions } from './replicate-vm.js';
import { initialReplicationFromBackup } from './use-backup.js';

const log = logger('initial');

export interface InitialRunOptions extends Pick<ReplicateOptions, 'stateDir' | 'host' | 'signal' | 'retry' | 'bandwidth' | 'clock'> {
  /** The VM's id on the host. */
  vmId: string;
  vmName: string;
  useBackup?: boolean;
  onProgress?: (progress: DeliveryProgress) => void;
  /** The background process's output file, named in the progress file for whoever reads a failure. */
  logFile?: string;
}

/** Whether the initial copy has been acknowledged (the Replicator's state exists from then on). */
export async function initialAcknowledged(stateDir: string, vmId: string): Promise<boolean> {
  return (await loadPrimaryState(primaryStateFile(stateDir, vmId))) !== undefined;
}

/** Whether a failure is a stop on purpose (the cycle lock's cancel, an abort) rather than a fault. */
export function isCancellation(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    if (e.name === 'AbortError' || (e instanceof AgentError && e.code === 'ERR_CANCELLED')) return true;
  }
  return false;
}

export async function runInitialReplication(options: InitialRunOptions): Promise<CycleReport> {
  const { stateDir, vmId } = options;
  const holder = await cycleLockHolder(cycleLockFile(stateDir, vmId));
  // Checked before the progress file is written, so a running copy's progress is not overwritten.
  if (holder !== undefined) throw cycleBusyError(options.vmName, holder);
  const recorder = new InitialProgressRecorder(stateDir, vmId, { Method: options.useBackup ? 'UsingBackup' : 'OverNetwork', LogFile: options.logFile ?? null });
  await recorder.begin();
  const onProgress = (p: DeliveryProgress) => {
    recorder.update(p);
    options.onProgress?.(p);
  };
  const common = { stateDir, host: options.host, vm: vmId, onProgress, ...(options.signal ? { signal: options.signal } : {}), ...(options.retry ? { retry: options.retry } : {}), ...(options.clock ? { clock: options.clock } : {}) };
  try {
    const report = options.useBackup
      ? await initialReplicationFromBackup(common)
      : await replicateVm({ ...common, initialOnly: true, ...(options.bandwidth ? { bandwidth: options.bandwidth } : {}) });
    await recorder.end('Completed');
    log.info('initial replication completed', { vm: options.vmName, logBytes: report.LogBytes, latencySec: report.LatencySec });
    return report;
  } catch (error) {
    // Stopped by `initial stop` (the lock's cancel) or by the caller (the agent stopping).
    if (isCancellation(error) || options.signal?.aborted || (await cancelRequested(cycleLockFile(stateDir, vmId)))) {
      await recorder.end('Cancelled');
      log.info('initial replication cancelled', { vm: options.vmName, error: (error as Error).message });
      // Whatever the aborted transfer surfaced as, the run ended because it was asked to.
      throw new AgentError('ERR_CANCELLED', `the initial replication of '${options.vmName}' was stopped (initial stop, or the agent stopping); nothing of it was applied on the replica`);
    }
    // The state first: whoever waits for the recorded outcome (initial stop) then sees both.
    await new RelationshipStore(stateDir).update(vmId, (current) => {
      const failed = current && (current.ReplicationState === 'InitialReplicationInProgress' || current.ReplicationState === 'ReadyForInitialReplication');
      return { next: failed ? { ...current, ReplicationState: 'Error' as const } : current, result: undefined };
    });
    await recorder.end('Failed', error);
    log.error('initial replication failed', { vm: options.vmName, error: (error as Error).message });
    throw error;
  }
}
