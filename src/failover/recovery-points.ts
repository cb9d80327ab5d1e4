/**
 * Choosing the recovery point a failover or test failover starts from (Start-VMFailover
 * -VMRecoverySnapshot), and finding the files of its chain. "Latest" seals what has been applied into a
 * point first, so the VM's layers never sit on the top layer that keeps receiving logs.
 */
import { diskLogId } from '../engine/ids.js';
import type { VmConfiguration } from '../host/host-adapter.js';
import type { RecoveryPoint, ReplicaStorage } from '../storage/replica-storage.js';
import { FailoverError } from './errors.js';

/** A point id, the latest state, or the newest application-consistent point. */
export type PointChoice = string | 'latest' | 'application-consistent';

export async function choosePoint(storage: ReplicaStorage, choice: PointChoice, vmName: string): Promise<RecoveryPoint> {
  if (choice === 'latest') {
    const point = await storage.seal();
    if (!point) throw new FailoverError('ERR_INVALID_STATE', `VM '${vmName}' has no completed replication on this replica yet; wait for the initial replication`);
    return point;
  }
  const points = await storage.listRecoveryPoints();
  if (choice === 'application-consistent') {
    const point = points.filter((p) => p.consistency === 'application').at(-1);
    if (!point) throw new FailoverError('ERR_NOT_FOUND', `VM '${vmName}' has no application-consistent recovery point (it has ${points.length} crash-consistent); choose another point`);
    return point;
  }
  const point = points.find((p) => p.id === choice);
  if (!point) {
    throw new FailoverError('ERR_NOT_FOUND', `VM '${vmName}' has no recovery point '${choice}' (it has: ${points.map((p) => p.id).join(', ') || 'none'})`);
  }
  return point;
}

/** Host disk id → the file at the top of the point's chain (read-only; layers go on top of it). */
export async function pointFiles(storage: ReplicaStorage, config: VmConfiguration, pointId: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const disk of config.disks) {
    const chain = await storage.openRecoveryPoint(pointId, diskLogId(config.id, disk.id));
    files[disk.id] = chain.info.path;
    await chain.close();
  }
  return files;
}
