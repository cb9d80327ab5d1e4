/**
 * Replication between two sites in one process: enabling a relationship (a record on each side and the
 * replica's storage) and one delta cycle through the real Replicator and a LocalSink. The state machine
 * gates every cycle on both sides, so nothing is sent to a replica that has failed over (split brain).
 */
import { rm } from 'node:fs/promises';
import { LocalSink } from '../engine/log-sink.js';
import { Replicator, replicaDisksOf, type CycleResult } from '../engine/replicator.js';
import type { VmConfiguration } from '../host/host-adapter.js';
import { logger } from '../logging/logger.js';
import { REPLICATION_FREQUENCIES } from '../relationship/types.js';
import { createVhdxReplicaStorage, type VhdxReplicaStorage } from '../storage/vhdx-replica-storage.js';
import { FailoverError } from './errors.js';
import { FAILOVER_RECORD_FORMAT, type FailoverRecord } from './record.js';
import type { FailoverSite } from './site.js';
import { refusal, transition, type ReplicationMode } from './state.js';

const log = logger('failover');

export interface EnableOptions {
  /** 30, 300 or 900 (Hyper-V's ReplicationFrequencySec); default 300. */
  replicationFrequencySec?: number;
  /** Recovery points kept besides the latest (0–24); default 0 as Hyper-V. */
  recoveryHistory?: number;
}

export function newRecord(
  site: FailoverSite,
  configuration: VmConfiguration,
  mode: ReplicationMode,
  peer: string,
  options: { replicationFrequencySec: number; recoveryHistory: number; relationshipType?: 'Simple' | 'Extended' },
): FailoverRecord {
  const blank: FailoverRecord = {
    formatVersion: FAILOVER_RECORD_FORMAT,
    vmId: configuration.id,
    vmName: configuration.name,
    mode,
    relationshipType: options.relationshipType ?? 'Simple',
    state: 'Disabled',
    localServer: site.name,
    peerServer: peer,
    replicationFrequencySec: options.replicationFrequencySec,
    recoveryHistory: options.recoveryHistory,
    configuration,
    lastReplicationTime: null,
    lastReplicationType: 'None',
    failedOverReplicationType: 'None',
    lastTestFailoverInitiatedTime: null,
    history: [],
  };
  return transition(blank, 'enable', `replication enabled between ${mode === 'Primary' ? site.name : peer} and ${mode === 'Primary' ? peer : site.name}`, site.clock());
}

export function checkFrequency(value: number): void {
  if (!(REPLICATION_FREQUENCIES as readonly number[]).includes(value)) {
    throw new FailoverError('ERR_INVALID_ARGUMENT', `ReplicationFrequencySec must be 30, 300 or 900, got ${value}`);
  }
}

export function checkRecoveryHistory(value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 24) throw new FailoverError('ERR_INVALID_ARGUMENT', `RecoveryHistory must be an integer from 0 to 24, got ${value}`);
}

/** Enable-VMReplication for a VM of `primary` towards `replica`: both records and empty replica storage. */
export async function enableReplication(primary: FailoverSite, replica: FailoverSite, vm: string, options: EnableOptions = {}): Promise<{ primary: FailoverRecord; replica: FailoverRecord }> {
  const description = await primary.host.getVm(vm);
  // A relationship the CLI enabled (src/relationship/) is adopted: its settings hold, its file gets the record.
  const relationship = await primary.store.relationship(description.id);
  if (relationship && !relationship.Failover) {
    if (relationship.ReplicationState !== 'ReadyForInitialReplication') {
      throw new FailoverError('ERR_INVALID_STATE', `VM '${description.name}' already replicates (${relationship.ReplicationState}) through the replica server; it cannot be re-enabled in process`);
    }
    if (relationship.ReplicaServerName !== replica.name) {
      throw new FailoverError('ERR_INVALID_ARGUMENT', `VM '${description.name}' is enabled towards ${relationship.ReplicaServerName}, not ${replica.name}`);
    }
  }
  const frequency = options.replicationFrequencySec ?? relationship?.ReplicationFrequencySec ?? 300;
  const history = options.recoveryHistory ?? relationship?.RecoveryHistory ?? 0;
  checkFrequency(frequency);
  checkRecoveryHistory(history);
  if (description.isReplica || description.isTestVm) {
    throw new FailoverError('ERR_INVALID_STATE', `VM '${description.name}' is a replica or test VM; replicate it onward with extended replication instead`);
  }
  const id = description.id;
  for (const [site, what] of [
    [primary, 'primary'],
    [replica, 'replica'],
  ] as const) {
    if (await site.store.get(id)) throw new FailoverError('ERR_ALREADY_EXISTS', `VM '${description.name}' already has a replication relationship on ${what} host ${site.name}`);
  }
  const spec = replicaDisksOf(description);
  await createVhdxReplicaStorage(replica.storageRoot(id), {
    ...spec,
    ...(replica.options.storageBlockSize ? { blockSize: replica.options.storageBlockSize } : {}),
    settings: { recoveryHistory: history },
    clock: replica.clock,
  });
  const settings = { replicationFrequencySec: frequency, recoveryHistory: history };
  const replicaRecord = newRecord(replica, description.configuration, 'Replica', primary.name, settings);
  const primaryRecord = newRecord(primary, description.configuration, 'Primary', replica.name, settings);
  try {
    await replica.store.update(id, () => ({ next: replicaRecord, result: undefined }));
    await primary.store.update(id, () => ({ next: primaryRecord, result: undefined }));
  } catch (error) {
    // Half an enable would block the next attempt with "already exists"; undo it whole.
    await replica.store.update(id, () => ({ next: undefined, result: undefined })).catch(() => undefined);
    await rm(replica.storageRoot(id), { recursive: true, force: true });
    throw error;
  }
  return { primary: primaryRecord, replica: replicaRecord };
}

/** A replica receives in these states only: after a failover, a log from the old primary would be split brain. */
const RECEIVING = new Set<FailoverRecord['state']>(['WaitingForInitialReplication', 'InitialReplicationInProgress', 'Replicating', 'Resynchronizing']);

/** Whether this end of a relationship takes changes from its primary now (a test failover does not stop it). */
export function acceptsChanges(record: Pick<FailoverRecord, 'mode' | 'state'>): boolean {
  return record.mode !== 'Primary' && RECEIVING.has(record.state);
}

/**
 * Why a replica refuses changes: after a failover they would overwrite what the failed-over VM became
 * (split brain), so the message says what to do on which host.
 */
export function refusesChangesBecause(record: Pick<FailoverRecord, 'vmName' | 'mode' | 'state' | 'localServer' | 'peerServer'>, sender: string): FailoverError {
  const here = record.localServer;
  if (record.mode === 'Primary') {
    return new FailoverError(
      'ERR_INVALID_STATE',
      `VM '${record.vmName}' is the primary on ${here} (replication was reversed), so ${here} takes no changes of it from ${sender}; make ${sender} a replica (hvreplica replication set --as-replica) and reverse from ${here}`,
    );
  }
  if (['RecoveryInProgress', 'FailedOverWaitingCompletion', 'FailedOver'].includes(record.state)) {
    return new FailoverError(
      'ERR_INVALID_STATE',
      `VM '${record.vmName}' has failed over on replica ${here} (state ${record.state}); ${here} accepts no more changes from ${sender}, they would overwrite the failed-over VM (split brain). ` +
        `On ${here}: cancel the failover (hvreplica failover stop --vm-name ${record.vmName}) to resume replication, or reverse it (hvreplica replication set --reverse)`,
    );
  }
  return new FailoverError(
    'ERR_INVALID_STATE',
    `replica ${here} does not accept changes of VM '${record.vmName}' in state ${record.state} (${record.mode}); it needs Replicating or WaitingForInitialReplication`,
  );
}
// Resynchronizing is left out: a resync is a hash comparison, not a delta cycle.
const SENDING = new Set<FailoverRecord['state']>(['ReadyForInitialReplication', 'InitialReplicationInProgress', 'Replicating']);

export interface ReplicateOptions {
  /** The last cycle of a planned failover (Start-VMFailover -Prepare): recorded as type Planned. */
  planned?: boolean;
  signal?: AbortSignal;
}

/** Applies what arrived, and seals a point when due unless a test failover depends on the current points. */
export async function applyAndMaybeSeal(storage: VhdxReplicaStorage, record: FailoverRecord): Promise<void> {
  await storage.applyPending();
  // A seal may merge the oldest point away (retention); the test VM's layers sit on a point's file.
  if (!record.testFailover) await storage.sealIfDue();
}

/** One replication cycle of `vmId` from `primary` to `replica` (Start-VMInitialReplication or a delta). */
export async function replicateOnce(primary: FailoverSite, replica: FailoverSite, vmId: string, options: ReplicateOptions = {}): Promise<CycleResult> {
  const sender = await primary.store.require(vmId);
  const receiver = await replica.store.require(vmId);
  if (sender.mode !== 'Primary') throw refusal(sender, 'startInitialReplication');
  if (!SENDING.has(sender.state)) {
    throw new FailoverError('ERR_INVALID_STATE', `VM '${sender.vmName}' does not replicate in state ${sender.state} on ${primary.name}; it needs Replicating or ReadyForInitialReplication (resume or start replication)`);
  }
  if (!acceptsChanges(receiver)) {
    throw new FailoverError(
      'ERR_INVALID_STATE',
      `replica ${replica.name} does not accept changes of VM '${receiver.vmName}' in state ${receiver.state} (${receiver.mode}); it needs Replicating or WaitingForInitialReplication`,
    );
  }
  if (sender.state === 'ReadyForInitialReplication') {
    await primary.store.modify(vmId, (r) => transition(r, 'startInitialReplication', 'initial replication started', primary.clock()));
  }
  await primary.ensureStateFolder();
  const result = await replica.withStorage(vmId, 'replication cycle', async (storage) => {
    const replicator = new Replicator({ host: primary.host, vm: vmId, sink: new LocalSink(storage, { applyOnReceive: false }), stateFile: primary.primaryStateFile(vmId) });
    const cycle = await replicator.syncOnce(options.signal);
    await applyAndMaybeSeal(storage, receiver);
    return cycle;
  });
  const at = primary.clock().toISOString();
  const type = options.planned ? 'Planned' : result.consistency === 'application' ? 'ApplicationConsistent' : 'Regular';
  const stamp = (r: FailoverRecord): FailoverRecord => {
    const next = r.state === 'InitialReplicationInProgress' || r.state === 'WaitingForInitialReplication' ? transition(r, 'completeInitialReplication', `cycle ${result.generation}/${result.sequence} acknowledged`, primary.clock()) : r;
    return { ...next, lastReplicationTime: at, lastReplicationType: type };
  };
  await replica.store.modify(vmId, stamp);
  await primary.store.modify(vmId, stamp);
  log.verbose('replication cycle done', { vm: sender.vmName, from: primary.name, to: replica.name, kind: result.kind, sequence: result.sequence });
  return result;
}
