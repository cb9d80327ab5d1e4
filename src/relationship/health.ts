/**
 * Replication health (Measure-VMReplication) as a pure function of a relationship, its statistics and
 * the time, following Hyper-V's documented rules (hyperv-replica.md §3.8). The worst finding wins; every
 * finding adds a sentence to ReplicationHealthDetails.
 */
import type { ReplicationHealth, ReplicationRelationship } from './types.js';

export interface HealthAssessment {
  ReplicationHealth: ReplicationHealth;
  ReplicationHealthDetails: string[];
}

const ONE_HOUR_MS = 3_600_000;
/** Hyper-V's thresholds (stated for 5-minute replication): missed share and average latency. */
export const MISSED_SHARE_WARNING = 0.2;
export const LATENCY_WARNING_SEC = 300;

const RANK: Record<ReplicationHealth, number> = { NotApplicable: 0, Normal: 1, Warning: 2, Critical: 3 };

export function assessHealth(rel: ReplicationRelationship, now: Date): HealthAssessment {
  if (rel.ReplicationState === 'Disabled' || rel.ReplicationMode === 'None') return { ReplicationHealth: 'NotApplicable', ReplicationHealthDetails: [] };
  let health: ReplicationHealth = 'Normal';
  const details: string[] = [];
  const find = (level: 'Warning' | 'Critical', sentence: string) => {
    if (RANK[level] > RANK[health]) health = level;
    details.push(sentence);
  };
  const vm = `'${rel.VMName}'`;
  const primarySide = rel.ReplicationMode === 'Primary';
  const stats = rel.Statistics;

  switch (rel.ReplicationState) {
    case 'Error':
      if (rel.RemovedOnReplica) {
        find('Critical', `Replication of virtual machine ${vm} was refused by the replica server at ${rel.RemovedOnReplica.At}, nothing is sent until you act: ${rel.RemovedOnReplica.Message}`);
        break;
      }
      find('Critical', `Replication for virtual machine ${vm} is in error. Resolve the error and resume replication.`);
      break;
    case 'WaitingForStartResynchronize':
      find('Critical', `Virtual machine ${vm} needs resynchronization: change tracking continuity was lost.`);
      break;
    case 'Suspended':
      if (primarySide) find('Warning', `Replication for virtual machine ${vm} is paused on the primary server.`);
      else find('Critical', `Replication for virtual machine ${vm} is paused on the replica server.`);
      break;
    case 'ReadyForInitialReplication':
    case 'InitialReplicationInProgress':
    case 'WaitingForInitialReplication':
      find('Warning', `Initial replication of virtual machine ${vm} has not completed.`);
      break;
    case 'FailedOver':
    case 'FailedOverWaitingCompletion':
      find('Warning', `Virtual machine ${vm} has failed over and reverse replication is not set up.`);
      break;
    case 'Resynchronizing':
      find('Warning', `Virtual machine ${vm} is being resynchronized.`);
      break;
    case 'ResynchronizeSuspended':
      // Still out of step with its replica, as "Resynchronization required" is: Hyper-V reports Critical.
      if (rel.ResynchronizePausedByUser) {
        find('Critical', `The resynchronization of virtual machine ${vm} is suspended; resume it to continue.`);
        break;
      }
      find('Critical', `Virtual machine ${vm} needs resynchronization; it waits for its automatic resynchronization window (or resume it with --resynchronize).`);
      break;
    default:
      break;
  }
  if (stats.LastAttemptFailed && rel.ReplicationState !== 'Suspended') {
    find('Critical', `The ${primarySide ? 'primary' : 'replica'} server cannot replicate virtual machine ${vm}: the last attempt failed (network or storage problem).`);
  }
  const attempts = stats.SuccessfulReplicationCount + stats.MissedReplicationCount;
  if (attempts > 0 && stats.MissedReplicationCount / attempts > MISSED_SHARE_WARNING) {
    find('Warning', `More than ${MISSED_SHARE_WARNING * 100} percent of replication cycles have been missed for virtual machine ${vm} in the monitoring interval.`);
  }
  if (rel.ReplicationState === 'Replicating') {
    const last = rel.LastReplicationTime === null ? undefined : new Date(rel.LastReplicationTime).getTime();
    if (last === undefined || now.getTime() - last > ONE_HOUR_MS) {
      find('Warning', primarySide ? `No replication has been sent for virtual machine ${vm} for more than an hour.` : `Replica of virtual machine ${vm} is behind the primary by more than an hour.`);
    }
  }
  if (stats.SuccessfulReplicationCount > 0 && stats.ReplicationLatencyTotal / stats.SuccessfulReplicationCount > LATENCY_WARNING_SEC) {
    find('Warning', `The average replication latency of virtual machine ${vm} is above ${LATENCY_WARNING_SEC / 60} minutes.`);
  }
  return { ReplicationHealth: health, ReplicationHealthDetails: details };
}
