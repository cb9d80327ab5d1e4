/**
 * Resume-VMReplication -Continue over the network (hyperv-replica.md §5.7), run on B by
 * `hvreplica replication resume --vm-name X --continue` after A→B failed over: B's VM becomes the primary
 * of the extended replica C. The library's continueExtended (src/failover/extended.ts) over the wire:
 *
 *   1. a failover of A→B not yet completed is completed (the chosen point becomes B's VM's own disk); one
 *      completed while the VM ran (its recovery point's chain held, src/failover/held-chain.ts) is finished
 *      when the VM is off now, as --reverse does;
 *   2. B sends C its VM definition without the Extended mark (C's server turns its ExtendedReplica into
 *      B's plain Replica) and then only the blocks whose hashes differ from what C holds, from a reference
 *      point frozen on B's VM (hashSyncVm); the Replicator's state is saved at that point, so the next
 *      cycles B→C are ordinary deltas of `hvreplica replicate` and the agent;
 *   3. B's records: the VM's relationship becomes B's Primary relationship towards C (the Extended one's
 *      settings: port, certificate, frequency), and the Extended relationship goes.
 * Step 2 before 3: a crash in between leaves B FailedOver with the Extended record, and running the command
 * again compares once more (sending next to nothing) and finishes.
 */
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { canTransition, completeFailover, FailoverSite, finishHeldChainIfOff, refusal, transition, type FailoverRecord } from '../failover/index.js';
import type { HostAdapter } from '../host/host-adapter.js';
import { logger } from '../logging/logger.js';
import { AdaptiveCodecPolicy, noneCodec } from '../protocol/index.js';
import { emptyStatistics, RelationshipStore, vmForReplication, type ReplicationRelationship } from '../relationship/index.js';
import { ReplicaClient } from '../transport/index.js';
import { AgentError } from './errors.js';
import { extendedRecords, heldReplicas, type ExtendedRecord } from './extended-relationship.js';
import { hashSyncVm, type HashSyncVmResult } from './hash-sync.js';
import { primaryStateFile, spoolDir } from './paths.js';
import { credentialOf, definitionOf, endpointOf } from './replicate-vm.js';

const log = logger('extended');

export interface ContinueResult {
  /** B's relationship towards C, as `replication get` shows it. */
  relationship: ReplicationRelationship;
  record: FailoverRecord;
  sync: HashSyncVmResult;
}

/** The relationship B keeps as C's primary: the Extended one's settings, now a Simple Primary relationship. */
function primaryRelationship(extended: ExtendedRecord, disks: ReplicationRelationship['ReplicatedDisks'], now: Date): ReplicationRelationship {
  return {
    ...extended.Relationship,
    ReplicatedDisks: disks,
    ExcludedDisks: [],
    ReplicationMode: 'Primary',
    ReplicationRelationshipType: 'Simple',
    ReplicationState: 'Replicating',
    ReplicationFrequencySec: extended.replicationFrequencySec,
    RecoveryHistory: extended.recoveryHistory,
    InitialReplicationStartTime: null,
    LastReplicationTime: now.toISOString(),
    LastReplicationType: 'Regular',
    Statistics: emptyStatistics(now),
  };
}

export interface ContinueOptions {
  stateDir: string;
  vm: string;
  /** B's host adapter (the one its failover commands use), where the completed failover left the VM. */
  host: HostAdapter;
  clock?: () => Date;
  /** Ends the work with C at once, whatever C does (also while it does not answer); nothing of B's records changes then. */
  signal?: AbortSignal;
}

export async function continueExtendedNetwork(options: ContinueOptions): Promise<ContinueResult> {
  const { stateDir } = options;
  const clock = options.clock ?? (() => new Date());
  const named = (name: string) => name.toLowerCase() === options.vm.toLowerCase();
  // Found by its Extended relationship, not by the replica storage: a failover completed before (with
  // `failover complete`) has deleted that storage, or left only the chain its running VM holds.
  const extended = (await extendedRecords(stateDir)).find((r) => named(r.vmName));
  if (!extended) {
    const held = (await heldReplicas(stateDir, options.vm)).find((r) => named(r.vmName));
    if (!held) throw new AgentError('ERR_NOT_FOUND', `no VM named '${options.vm}' is replicated to this host with an extended replication; --continue runs on the replica server B of A→B→C`);
    throw new AgentError(
      'ERR_REPLICATION_NOT_ENABLED',
      `VM '${held.vmName}' has no extended replication from this host to continue; --continue makes this host the primary of the extended replica after its primary failed over`,
    );
  }
  const { vmId, vmName } = extended;
  const site = new FailoverSite({ name: hostname(), stateDir, host: options.host, clock });
  let record = await site.store.require(vmId);
  if (record.state === 'FailedOverWaitingCompletion') record = await completeFailover(site, vmId);
  // As the library's continueExtended and --reverse: off, the VM leaves a chain it still held (a failover
  // completed while it ran, src/failover/held-chain.ts) before B sends from its final disks; running, it goes on.
  record = await finishHeldChainIfOff(site, record);
  if (!canTransition(record, 'continueExtended')) throw refusal(record, 'continueExtended');
  const rel = extended.Relationship;
  const now = clock();
  const vm = await site.host.getVm(vmId);
  const relationship = primaryRelationship(extended, vmForReplication(vm).disks, now);
  const connection = { endpoint: endpointOf(rel), credential: await credentialOf(stateDir, rel), spoolDir: spoolDir(stateDir) };

  // C first learns that B is now its primary (no Extended mark), then gets what differs.
  const { signal } = options;
  const client = await ReplicaClient.connect(connection.endpoint, connection.credential, signal ? { signal } : {});
  try {
    await client.defineVm(definitionOf(vm, relationship), signal);
  } finally {
    await client.close();
  }
  const sync = await hashSyncVm({
    host: site.host,
    vm: vmId,
    stateFile: primaryStateFile(stateDir, vmId),
    replica: connection,
    ...(signal ? { signal } : {}),
    codecPolicy: () => (rel.CompressionEnabled ? new AdaptiveCodecPolicy() : new AdaptiveCodecPolicy(noneCodec)),
  });

  // B's records: the record moves into B's new relationship file (one file, as `replication enable`
  // relationships keep theirs), then the Extended relationship goes.
  const existing = await site.store.relationship(vmId);
  if (existing && existing.ReplicationMode === 'Primary' && existing.ReplicaServerName !== rel.ReplicaServerName) {
    throw new AgentError('ERR_INVALID_STATE', `VM '${vmName}' already has a primary relationship towards ${existing.ReplicaServerName} on this host; remove it first`);
  }
  const moved = transition(record, 'continueExtended', `extended replication continues: ${rel.PrimaryServerName} is now the primary of ${rel.ReplicaServerName}`, clock());
  const next: FailoverRecord = { ...moved, peerServer: rel.ReplicaServerName, localServer: rel.PrimaryServerName, replicationFrequencySec: extended.replicationFrequencySec, lastReplicationTime: now.toISOString(), lastReplicationType: 'Regular' };
  await site.store.embed(vmId, relationship, next);
  await site.store.update(vmId, () => ({ next: undefined, result: undefined }), 'Extended');
  await rm(site.extendedStateFile(vmId), { force: true });
  log.info('extended replication continued: this host is now the primary of the extended replica', {
    vm: vmName,
    replica: rel.ReplicaServerName,
    changedBytes: sync.changedBytes,
    logBytes: sync.logBytes,
  });
  const saved = (await new RelationshipStore(stateDir).get(vmId))!;
  return { relationship: saved, record: (await site.store.get(vmId))!, sync };
}
