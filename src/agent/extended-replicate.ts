/**
 * One extended replication cycle over the network (A→B→C, hyperv-replica.md §5.7), run on B by
 * `hvreplica replicate --vm X --extended` and by the agent: B's latest applied content of replica VM X
 * goes to C's replica server.
 *
 *   - B's content is read from B's replica storage under its cross-process lock (src/replica/storage-lock.ts),
 *     so B's replica server never applies A's logs to it meanwhile; its name is `<gen>/<seq>@<A's point>`;
 *   - C already holds it (same reference point): nothing is sent;
 *   - C holds nothing yet: B sends C the VM definition (marked Extended, so C keeps an ExtendedReplica)
 *     and a full copy as cycle 1/0;
 *   - otherwise only the blocks whose hashes differ travel (syncToReplica, src/agent/hash-sync.ts),
 *     as the next cycle of C's generation.
 * The Extended record on B (src/agent/extended-relationship.ts) moves through the state machine and
 * keeps Measure-VMReplication's statistics.
 */
import type { OutgoingLog } from '../engine/log-sink.js';
import { cycleHeader, fullCopyRecords } from '../failover/disk-sync.js';
import { loadExtendedPosition, saveExtendedPosition } from '../failover/extended.js';
import { enterError, FailoverSite, transition, type FailoverRecord } from '../failover/index.js';
import { imageOf } from '../failover/disk-sync.js';
import type { DiskImage } from '../host/disk-image.js';
import { logger } from '../logging/logger.js';
import { AdaptiveCodecPolicy, encodeLog, noneCodec, type ReplicaVmDefinition } from '../protocol/index.js';
import { ReplicaConfigStore } from '../replica/index.js';
import type { VhdxReplicaStorage } from '../storage/vhdx-replica-storage.js';
import { Http2LogUploader, ReplicaClient, RetryingUploader, TransportError, TransportSink, type DeliveryProgress, type RetryOptions } from '../transport/index.js';
import { heldUntilRead } from '../util/held-until-read.js';
import { withCycleLock } from './cycle-lock.js';
import { AgentError } from './errors.js';
import { extendedCycleLockFile, extendedRecords, heldReplicas, isExtendedRecord, type ExtendedRecord, type HeldReplica } from './extended-relationship.js';
import { closeImages, sourceRead, syncToReplica, type HashSyncSource, type ReplicaConnection } from './hash-sync.js';
import { spoolDir } from './paths.js';
import { afterFailure, afterSuccess } from './relationship-updates.js';
import { credentialOf, endpointOf, joinSignals } from './replicate-vm.js';
import { formatBytes } from '../util/format-bytes.js';

const log = logger('extended');

/** States of the Extended relationship in which B sends (the library's rule). */
const SENDING = new Set<FailoverRecord['state']>(['ReadyForInitialReplication', 'InitialReplicationInProgress', 'Replicating']);

export interface ExtendedReplicateOptions {
  stateDir: string;
  /** The replica VM's name or id on B. */
  vm: string;
  signal?: AbortSignal;
  onProgress?: (progress: DeliveryProgress) => void;
  retry?: RetryOptions;
  /** Block size of the hash comparison (default the primitive's, 64 KiB). */
  blockSize?: number;
  clock?: () => Date;
}

export interface ExtendedCycleReport {
  VMName: string;
  VMId: string;
  ReplicaServerName: string;
  /** initial: full copy to an empty extended replica; delta: the blocks whose hashes differ. */
  Kind: 'initial' | 'delta';
  /** The cycle on C. */
  Generation: number;
  Sequence: number;
  /** B's content that C now holds: `<generation>/<sequence>@<A's reference point>` of B's storage. */
  ReferencePoint: string;
  /** Bytes of disk the cycle carried (changed blocks; for a full copy, the allocated data). */
  ChangedBytes: number;
  /** Bytes of disk compared by hash (0 for a full copy). */
  ComparedBytes: number;
  /** Bytes of log sent (after compression). */
  LogBytes: number;
  StartTime: string;
  EndTime: string;
  LatencySec: number;
}

/** The name C keeps for B's applied content: the library's (extended.ts), so both paths agree. */
export function extendedPointName(status: Awaited<ReturnType<VhdxReplicaStorage['status']>>): string | undefined {
  return status.position ? `${status.position.generation}/${status.position.sequence}@${status.referencePoint}` : undefined;
}

/** Finds the replica VM and its Extended record on B, and checks both allow a cycle (Hyper-V's rules). */
async function resolve(stateDir: string, vm: string): Promise<{ replica: HeldReplica; record: ExtendedRecord }> {
  const wanted = vm.toLowerCase();
  const record = (await extendedRecords(stateDir)).find((r) => r.vmName.toLowerCase() === wanted || r.vmId.toLowerCase() === wanted);
  if (!record) {
    throw new AgentError(
      'ERR_REPLICATION_NOT_ENABLED',
      `VM '${vm}' has no extended replication from this host; enable it on the VM's replica server with "hvreplica replication enable --vm-name ${vm} --replica-server-name <extended replica server> ..."`,
    );
  }
  const replica = (await heldReplicas(stateDir, '*')).find((r) => r.vmId === record.vmId.toLowerCase());
  if (!replica || replica.mode !== 'Replica' || replica.state !== 'Replicating') {
    const where = replica ? `${replica.state} (${replica.mode})` : 'no longer a replica here (its failover was completed)';
    throw new AgentError(
      'ERR_INVALID_STATE',
      `extended replication of VM '${record.vmName}' pauses while it is ${where}; after a failover of its primary use "hvreplica replication resume --vm-name ${record.vmName} --continue"`,
    );
  }
  if (!SENDING.has(record.state)) {
    const hint = record.state === 'Suspended' ? `; resume it with "hvreplica replication resume --vm-name ${record.vmName} --replication-relationship-type Extended"` : '';
    throw new AgentError('ERR_INVALID_STATE', `the extended replication of VM '${record.vmName}' is ${record.state}: no cycle is sent${hint}`);
  }
  return { replica, record };
}

/**
 * A failed extended cycle in the record: its statistics, and, when C refused the relationship as removed there,
 * state Error (the state machine's only way in), as a Simple primary's relationship shows it; Resume-VMReplication
 * -ReplicationRelationshipType Extended then lets the next cycle ask C again.
 */
function afterExtendedFailure(record: ExtendedRecord, error: unknown, now: Date, monitoring: Parameters<typeof afterFailure>[3]): ExtendedRecord {
  const relationship = afterFailure(record.Relationship, error, now, monitoring);
  return relationship.RemovedOnReplica ? { ...enterError(record, error, now), Relationship: relationship } : { ...record, Relationship: relationship };
}

/** The definition C receives: B's (the primary's configuration) with the Extended relationship's settings. */
function extendedDefinition(replica: HeldReplica, record: ExtendedRecord): ReplicaVmDefinition {
  // The primary's configuration (and a Hyper-V primary's exported files) travel on unchanged: C realises the same VM.
  return {
    ...replica.definition,
    RecoveryHistory: record.recoveryHistory,
    VSSSnapshotFrequencyHour: 0,
    ReplicationFrequencySec: record.replicationFrequencySec,
    ReplicationRelationshipType: 'Extended',
  };
}

/** The first copy to an empty extended replica: every disk whole, as cycle 1/0 (trim where B holds nothing). */
async function fullCopy(connection: ReplicaConnection, source: HashSyncSource, compression: boolean, signal: AbortSignal | undefined): Promise<{ changedBytes: number; logBytes: number }> {
  const opened: DiskImage[] = [];
  const uploader = new Http2LogUploader((closing) => ReplicaClient.connect(connection.endpoint, connection.credential, { signal: signal ? AbortSignal.any([signal, closing]) : closing }));
  let changedBytes = 0;
  try {
    const logs: OutgoingLog[] = [];
    for (const disk of source.disks) {
      const image = await source.open(disk.id);
      opened.push(image);
      const header = cycleHeader(source.logVmId, disk, { generation: 1, sequence: 0, baseReferencePoint: '', newReferencePoint: source.referencePoint });
      for (const extent of image.allocation ? await image.allocation() : [{ offset: 0, length: image.virtualSize, state: 'data' as const }]) {
        if (extent.state === 'data') changedBytes += extent.length;
      }
      logs.push({ diskId: disk.logDiskId, header, encode: (options) => encodeLog(header, fullCopyRecords(image), { ...options, codecPolicy: compression ? new AdaptiveCodecPolicy() : new AdaptiveCodecPolicy(noneCodec) }) });
    }
    const sink = new TransportSink({
      uploader: new RetryingUploader(uploader, connection.retry ?? { attempts: 5 }),
      spoolDir: connection.spoolDir,
      ...(connection.onProgress ? { onProgress: connection.onProgress } : {}),
      onSpooled: () => sourceRead(source, opened),
    });
    const ack = await sink.deliver({ vmId: source.logVmId, generation: 1, sequence: 0, logs }, signal);
    return { changedBytes, logBytes: ack.logBytes };
  } finally {
    await uploader.close().catch(() => undefined);
    await closeImages(opened);
  }
}

/**
 * One extended cycle of replica VM `vm` from this host (B) to its extended replica server (C). Returns
 * undefined when C already holds B's latest applied content.
 */
export async function replicateExtendedVm(options: ExtendedReplicateOptions): Promise<ExtendedCycleReport | undefined> {
  const { stateDir } = options;
  const clock = options.clock ?? (() => new Date());
  const { replica, record } = await resolve(stateDir, options.vm);
  const rel = record.Relationship;
  const site = new FailoverSite({ name: record.localServer, stateDir, clock });
  const monitoring = await new ReplicaConfigStore(stateDir).load();
  const lockFile = extendedCycleLockFile(stateDir, replica.vmId);
  return withCycleLock(lockFile, replica.vmName, async (cancelled) => {
    // Stopped by another process through the lock (a removal of the relationship waits for it to end).
    const signal = joinSignals(options.signal, cancelled);
    const credential = await credentialOf(stateDir, rel);
    const connection: ReplicaConnection = {
      endpoint: endpointOf(rel),
      credential,
      spoolDir: spoolDir(stateDir),
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    };
    const start = clock();
    let outcome: { kind: 'initial' | 'delta'; generation: number; sequence: number; name: string; changedBytes: number; comparedBytes: number; logBytes: number } | undefined;
    try {
      // C's side first: what it holds decides between nothing, a full copy and a comparison.
      // Every request to C takes the cycle's signal: a suspend (or the agent stopping) ends the cycle at once,
      // also while C does not answer, instead of at the session's liveness check.
      const client = await ReplicaClient.connect(connection.endpoint, credential, { signal });
      let held: { position: string | null; referencePoint: string } | undefined;
      try {
        // A relationship C never acknowledged a cycle of defines its replica first (the definition answers with
        // what C holds): C refuses any other request of a relationship it holds no replica of, when an earlier
        // one of the VM was removed there, so an enabled-again relationship would never start.
        const acknowledged = (await loadExtendedPosition(site.extendedStateFile(replica.vmId))) !== undefined;
        const content = !acknowledged
          ? undefined
          : await client.content(replica.vmId, signal).catch((error: unknown) => {
              if (error instanceof TransportError && error.code === 'ERR_NOT_FOUND') return undefined;
              throw error;
            });
        held = content && { position: content.Position, referencePoint: content.ReferencePoint };
        if (!content) {
          const defined = await client.defineVm(extendedDefinition(replica, record), signal);
          log.info('extended replica defined on the extended replica server', { vm: replica.vmName, server: rel.ReplicaServerName, created: defined.Created });
          held = { position: defined.Position, referencePoint: defined.ReferencePoint };
        }
      } finally {
        await client.close();
      }
      // B's content is read under its storage lock (B's server applies nothing meanwhile), and only while
      // it is read: once the cycle's logs are spooled the upload to C runs on unlocked, from the spool, so
      // A's uploads to B never wait for C.
      outcome = await heldUntilRead((body: (storage: VhdxReplicaStorage) => Promise<void>) => site.withStorage(replica.vmId, 'extended replication', body), async (storage, read) => {
        const status = await storage.status();
        const name = extendedPointName(status);
        if (!name) throw new AgentError('ERR_INVALID_STATE', `this host holds no replicated content of VM '${replica.vmName}' yet; the initial replication from its primary has to complete first`);
        if (held?.referencePoint === name) return undefined;
        if (record.state === 'ReadyForInitialReplication') {
          await site.store.modify(replica.vmId, (r) => transition(r, 'startInitialReplication', `extended initial replication to ${rel.ReplicaServerName} started`, clock()), 'Extended');
        }
        const source: HashSyncSource = {
          logVmId: replica.vmId,
          disks: status.disks.map((d) => ({ id: d.diskId, logDiskId: d.diskId, virtualSize: d.virtualSize, logicalSectorSize: d.logicalSectorSize as 512 | 4096 })),
          open: async (diskId) => imageOf(await storage.openLatest(diskId)),
          referencePoint: name,
          onRead: read,
        };
        if (held?.position === null) {
          const copy = await fullCopy(connection, source, rel.CompressionEnabled, signal);
          return { kind: 'initial' as const, generation: 1, sequence: 0, name, changedBytes: copy.changedBytes, comparedBytes: 0, logBytes: copy.logBytes };
        }
        const sync = await syncToReplica(connection, source, {
          ...(options.blockSize ? { blockSize: options.blockSize } : {}),
          signal,
          codecPolicy: () => (rel.CompressionEnabled ? new AdaptiveCodecPolicy() : new AdaptiveCodecPolicy(noneCodec)),
        });
        return { kind: 'delta' as const, generation: sync.generation, sequence: sync.sequence, name, changedBytes: sync.changedBytes, comparedBytes: sync.comparedBytes, logBytes: sync.logBytes };
      });
    } catch (error) {
      await site.store.modify(replica.vmId, (r) => (isExtendedRecord(r) ? afterExtendedFailure(r, error, clock(), monitoring) : r), 'Extended').catch(() => undefined);
      throw error;
    }
    if (!outcome) return undefined;
    const done = outcome;
    const end = clock();
    const latencySec = (end.getTime() - start.getTime()) / 1000;
    await saveExtendedPosition(site.extendedStateFile(replica.vmId), { generation: done.generation, sequence: done.sequence, referencePoint: done.name });
    await site.store.modify(
      replica.vmId,
      (r) => {
        const next = r.state === 'InitialReplicationInProgress' ? transition(r, 'completeInitialReplication', `extended cycle ${done.generation}/${done.sequence} acknowledged by ${rel.ReplicaServerName}`, end) : r;
        const relationship = isExtendedRecord(r) ? afterSuccess(r.Relationship, { kind: done.kind, consistency: 'crash', logBytes: done.logBytes, latencySec }, end, monitoring) : rel;
        return { ...next, lastReplicationTime: end.toISOString(), lastReplicationType: 'Regular', Relationship: relationship } as ExtendedRecord;
      },
      'Extended',
    );
    log.info('extended cycle done', { vm: replica.vmName, to: rel.ReplicaServerName, kind: done.kind, sequence: done.sequence, changedBytes: done.changedBytes, logBytes: done.logBytes });
    return {
      VMName: replica.vmName,
      VMId: replica.vmId,
      ReplicaServerName: rel.ReplicaServerName,
      Kind: done.kind,
      Generation: done.generation,
      Sequence: done.sequence,
      ReferencePoint: done.name,
      ChangedBytes: done.changedBytes,
      ComparedBytes: done.comparedBytes,
      LogBytes: done.logBytes,
      StartTime: start.toISOString(),
      EndTime: end.toISOString(),
      LatencySec: latencySec,
    };
  });
}

export function extendedCycleHuman(report: ExtendedCycleReport): string {
  const what = report.Kind === 'initial' ? 'Extended initial replication' : `Extended cycle ${report.Sequence}`;
  return `${what} of ${report.VMName} to ${report.ReplicaServerName}: ${formatBytes(report.ChangedBytes)} of disk sent as ${formatBytes(report.LogBytes)} of log in ${report.LatencySec.toFixed(1)} s (content ${report.ReferencePoint}).`;
}
