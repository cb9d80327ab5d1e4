/**
 * Extended (chained) replication A→B→C (hyperv-replica.md §5.7): the replica B sends what it has applied
 * on to a third host C. Hyper-V's rules: only from a replica (never A→B and A→C), frequency 300 or 900 s
 * and never more frequent than A→B. The extended relationship has its own record on B
 * (`<VMId>.extended.json`, mode Primary there: B is its sending end) and C's record is an ExtendedReplica.
 * Each extended cycle compares B's latest applied content with C's by hash and sends the differing blocks.
 * After A→B fails over, `continueExtended` (Resume-VMReplication -Continue) makes B the primary of C;
 * reversing to A instead halts the B→C relationship (reverse.ts).
 */
import { readFile, rm } from 'node:fs/promises';
import { diskLogId, vmLogId } from '../engine/ids.js';
import { LocalSink } from '../engine/log-sink.js';
import { logger } from '../logging/logger.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { createVhdxReplicaStorage } from '../storage/vhdx-replica-storage.js';
import { imageOf, syncByHash, type HashSyncResult } from './disk-sync.js';
import { FailoverError } from './errors.js';
import { completeFailover } from './failover.js';
import { finishHeldChainIfOff } from './held-chain.js';
import type { FailoverRecord } from './record.js';
import { checkRecoveryHistory, newRecord } from './replication.js';
import { handOver } from './reverse.js';
import type { FailoverSite } from './site.js';
import { canTransition, refusal, transition } from './state.js';

const log = logger('failover');

export const EXTENDED_FREQUENCIES = [300, 900] as const;

/** Extended frequency 300 or 900 s, and not below the primary → replica frequency. */
export function checkExtendedFrequency(extendedSec: number, primarySec: number): void {
  if (!(EXTENDED_FREQUENCIES as readonly number[]).includes(extendedSec)) {
    throw new FailoverError('ERR_INVALID_ARGUMENT', `extended replication runs every 300 or 900 seconds, got ${extendedSec}`);
  }
  if (extendedSec < primarySec) {
    throw new FailoverError('ERR_INVALID_ARGUMENT', `the extended replication frequency (${extendedSec} s) cannot be more frequent than the primary's (${primarySec} s)`);
  }
}

export async function enableExtendedReplication(
  replica: FailoverSite,
  extended: FailoverSite,
  vmId: string,
  options: { replicationFrequencySec?: number; recoveryHistory?: number } = {},
): Promise<{ source: FailoverRecord; extended: FailoverRecord }> {
  const record = await replica.store.require(vmId);
  if (record.mode !== 'Replica') {
    throw new FailoverError('ERR_INVALID_STATE', `extended replication starts from a replica; VM '${record.vmName}' is a ${record.mode} on ${replica.name} (A→B→C only, never A→C)`);
  }
  if (record.state !== 'Replicating') {
    throw new FailoverError('ERR_INVALID_STATE', `VM '${record.vmName}' must be Replicating on ${replica.name} to extend its replication, not ${record.state}`);
  }
  const frequency = options.replicationFrequencySec ?? Math.max(300, record.replicationFrequencySec);
  checkExtendedFrequency(frequency, record.replicationFrequencySec);
  const history = options.recoveryHistory ?? 0;
  checkRecoveryHistory(history);
  if (await replica.store.get(vmId, 'Extended')) throw new FailoverError('ERR_ALREADY_EXISTS', `VM '${record.vmName}' already has an extended replication from ${replica.name}`);
  if (await extended.store.get(vmId)) throw new FailoverError('ERR_ALREADY_EXISTS', `VM '${record.vmName}' already has a replication relationship on ${extended.name}`);
  const config = record.configuration;
  await createVhdxReplicaStorage(extended.storageRoot(vmId), {
    vmId: vmLogId(config.id),
    disks: config.disks.map((d) => ({ diskId: diskLogId(config.id, d.id), virtualSize: d.virtualSize, logicalSectorSize: d.logicalSectorSize })),
    ...(extended.options.storageBlockSize ? { blockSize: extended.options.storageBlockSize } : {}),
    settings: { recoveryHistory: history },
    clock: extended.clock,
  });
  const settings = { replicationFrequencySec: frequency, recoveryHistory: history, relationshipType: 'Extended' as const };
  const target = newRecord(extended, config, 'ExtendedReplica', replica.name, settings);
  await extended.store.update(vmId, () => ({ next: target, result: undefined }));
  const source = newRecord(replica, config, 'Primary', extended.name, settings);
  await replica.store.update(vmId, () => ({ next: source, result: undefined }), 'Extended');
  return { source, extended: target };
}

/** The last extended cycle C acknowledged, as B keeps it (FailoverSite.extendedStateFile). */
export interface ExtendedPosition {
  generation: number;
  sequence: number;
  /** B's applied content C holds: `<generation>/<sequence>@<A's reference point>` of B's storage. */
  referencePoint: string;
}

/** Written after C acknowledged a cycle (in process or over the network). */
export async function saveExtendedPosition(path: string, position: ExtendedPosition): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(position satisfies ExtendedPosition));
}

export async function loadExtendedPosition(path: string): Promise<ExtendedPosition | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as ExtendedPosition;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FailoverError('ERR_CORRUPT_STATE', `${path} is not an extended replication position (${(error as Error).message}); remove it to start over`);
  }
}

const SENDING = new Set<FailoverRecord['state']>(['ReadyForInitialReplication', 'InitialReplicationInProgress', 'Replicating']);

/**
 * One extended cycle: B's latest applied state goes to C. Returns undefined when C already has it.
 * Refused while B is not a replicating replica (after a failover of A→B, use continueExtended).
 */
export async function replicateExtended(replica: FailoverSite, extended: FailoverSite, vmId: string): Promise<HashSyncResult | undefined> {
  const simple = await replica.store.require(vmId);
  const source = await replica.store.require(vmId, 'Extended');
  const target = await extended.store.require(vmId);
  if (simple.mode !== 'Replica' || simple.state !== 'Replicating') {
    throw new FailoverError('ERR_INVALID_STATE', `extended replication of VM '${simple.vmName}' pauses while ${replica.name} is ${simple.state} (${simple.mode}); after a failover use Resume-HvrVMReplication -Continue`);
  }
  if (!SENDING.has(source.state)) throw new FailoverError('ERR_INVALID_STATE', `the extended relationship of VM '${simple.vmName}' is ${source.state}; resume it first`);
  if (target.mode !== 'ExtendedReplica' || !['WaitingForInitialReplication', 'Replicating'].includes(target.state)) {
    throw new FailoverError('ERR_INVALID_STATE', `${extended.name} does not accept VM '${simple.vmName}' in state ${target.state} (${target.mode})`);
  }
  const storage = await replica.openStorage(vmId);
  await storage.applyPending();
  const status = await storage.status();
  if (!status.position) throw new FailoverError('ERR_INVALID_STATE', `${replica.name} holds no replicated content of VM '${simple.vmName}' yet`);
  const name = `${status.position.generation}/${status.position.sequence}@${status.referencePoint}`;
  const stateFile = replica.extendedStateFile(vmId);
  const last = await loadExtendedPosition(stateFile);
  if (last?.referencePoint === name) return undefined;
  if (source.state === 'ReadyForInitialReplication') await replica.store.modify(vmId, (r) => transition(r, 'startInitialReplication', 'extended initial replication started', replica.clock()), 'Extended');
  const position = last
    ? { generation: last.generation, sequence: last.sequence + 1, baseReferencePoint: last.referencePoint, newReferencePoint: name }
    : { generation: 1, sequence: 0, baseReferencePoint: '', newReferencePoint: name };
  const targetStorage = await extended.openStorage(vmId);
  const sync = await syncByHash({
    config: simple.configuration,
    source: async (diskId) => imageOf(await storage.openLatest(diskLogId(simple.configuration.id, diskId))),
    target: targetStorage,
    sink: new LocalSink(targetStorage),
    position,
    blockSize: replica.hashBlockSize,
  });
  await replica.ensureStateFolder();
  await saveExtendedPosition(stateFile, { generation: position.generation, sequence: position.sequence, referencePoint: name });
  const at = replica.clock().toISOString();
  const stamp = (r: FailoverRecord): FailoverRecord => {
    const next = r.state === 'InitialReplicationInProgress' || r.state === 'WaitingForInitialReplication' ? transition(r, 'completeInitialReplication', `extended cycle ${position.generation}/${position.sequence} applied`, replica.clock()) : r;
    return { ...next, lastReplicationTime: at, lastReplicationType: 'Regular' };
  };
  await replica.store.modify(vmId, stamp, 'Extended');
  await extended.store.modify(vmId, stamp);
  log.verbose('extended cycle done', { vm: simple.vmName, from: replica.name, to: extended.name, changedBytes: sync.changedBytes });
  return sync;
}

/**
 * Reversing A→B towards A halts B→C (hyperv-replica.md §5.7: one VM has one replica): the Extended
 * relationship of `vmId` on `site` and its position go. Safe to repeat.
 */
export async function haltExtended(site: FailoverSite, vmId: string, reason: string): Promise<void> {
  const halted = await site.store.update(vmId, (current) => ({ next: undefined, result: current }), 'Extended');
  await rm(site.extendedStateFile(vmId), { force: true });
  if (halted) log.info('extended replication halted', { vm: halted.vmName, from: site.name, to: halted.peerServer, reason });
}

/**
 * Resume-VMReplication -Continue on B after A→B failed over: the failover is completed if needed, B's VM
 * becomes the primary of C (sending only what differs from what C holds), and C's VM becomes B's replica.
 */
export async function continueExtended(replica: FailoverSite, extended: FailoverSite, vmId: string): Promise<{ primary: FailoverRecord; replica: FailoverRecord; sync: HashSyncResult }> {
  let record = await replica.store.require(vmId);
  await replica.store.require(vmId, 'Extended');
  if (record.state === 'FailedOverWaitingCompletion') record = await completeFailover(replica, vmId);
  record = await finishHeldChainIfOff(replica, record);
  const target = await extended.store.require(vmId);
  // Both sides are checked before anything changes.
  if (!canTransition(record, 'continueExtended')) throw refusal(record, 'continueExtended');
  if (!canTransition(target, 'continueExtended')) throw refusal(target, 'continueExtended');
  const storage = await extended.openStorage(vmId);
  const sync = await handOver(replica, vmId, storage, replica.hashBlockSize);
  const at = replica.clock().toISOString();
  const primary = await replica.store.modify(vmId, (r) => ({
    ...transition(r, 'continueExtended', `extended replication continues: ${replica.name} is now the primary of ${extended.name}`, replica.clock()),
    peerServer: extended.name,
    replicationFrequencySec: target.replicationFrequencySec,
    lastReplicationTime: at,
  }));
  await replica.store.update(vmId, () => ({ next: undefined, result: undefined }), 'Extended');
  await rm(replica.extendedStateFile(vmId), { force: true });
  const next = await extended.store.modify(vmId, (r) => ({
    ...transition(r, 'continueExtended', `${replica.name} is now the primary`, extended.clock()),
    relationshipType: 'Simple' as const,
    lastReplicationTime: at,
  }));
  return { primary, replica: next, sync };
}
