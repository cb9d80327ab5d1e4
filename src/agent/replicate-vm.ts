/**
 * One replication cycle of one primary VM, as `hvreplica replicate`, `initial start` and the agent run
 * it: check the relationship allows a cycle, take the VM's cycle lock, send the VM definition before a
 * full copy, run the Replicator through the transport to the replica server (or another sink: an
 * export), and record the outcome in the relationship store so `replication get|measure` show it.
 */
import { hostname } from 'node:os';
import type { HostAdapter } from '../host/host-adapter.js';
import { logger } from '../logging/logger.js';
import { runsAfterResult } from '../util/work-after-result.js';
// Each import names its module, not a barrel (src/*/index.ts): a one-shot `replicate` loads what a primary's
// cycle runs, not the replica server's side of every package (~60 modules, measured at start-up).
import type { LogSink } from '../engine/log-sink.js';
import { PhaseTimes } from '../engine/phase-times.js';
import { loadPrimaryState } from '../engine/primary-state.js';
import { commitsSettled, Replicator, replicaDisksOf, type CycleResult } from '../engine/replicator.js';
import { AdaptiveCodecPolicy, noneCodec } from '../protocol/codec.js';
import { REPLICA_VM_FORMAT_VERSION, type ReplicaVmDefinition } from '../protocol/replica-vm.js';
import { RelationshipStore } from '../relationship/store.js';
import type { ReplicationRelationship } from '../relationship/types.js';
import { ReplicaConfigStore } from '../replica/config-store.js';
import { FileCertificateStore } from '../security/certificate-store.js';
import type { HostCredential } from '../security/credential.js';
import type { BandwidthSchedule } from '../transport/bandwidth-schedule.js';
import { ReplicaClient, type ReplicaEndpoint } from '../transport/http2-client.js';
import { Http2LogUploader, RetryingUploader, type RetryOptions } from '../transport/log-uploader.js';
import { BandwidthLimitedUploader } from '../transport/throttle.js';
import { TransportSink, type DeliveryProgress } from '../transport/transport-sink.js';
import { toWire as hostConfigurationToWire } from '../host/hyperv/exported-definition.js';
import { withCycleLock } from './cycle-lock.js';
import { AgentError } from './errors.js';
import { cycleLockFile, primaryStateFile, spoolDir } from './paths.js';
import { afterFailure, afterSuccess } from './relationship-updates.js';
import { needsResync, RESYNC_STATES } from './resync-states.js';

const log = logger('agent');

/** The caller's signal and the cycle lock's cancel signal as one. */
export function joinSignals(own: AbortSignal | undefined, cancelled: AbortSignal): AbortSignal {
  return own ? AbortSignal.any([own, cancelled]) : cancelled;
}

/** States in which the primary sends cycles; others belong to failover, resync or a pause. */
const SENDING_STATES = new Set(['ReadyForInitialReplication', 'InitialReplicationInProgress', 'Replicating', 'Error']);

export interface ReplicateOptions {
  stateDir: string;
  host: HostAdapter;
  /** VM name or id on the host. */
  vm: string;
  signal?: AbortSignal;
  onProgress?: (progress: DeliveryProgress) => void;
  /** Retries of each log upload (default 3 attempts, 0.5 s doubling). */
  retry?: RetryOptions;
  /** Deliver elsewhere than the relationship's replica server (an export to removable media). */
  sink?: (definition: ReplicaVmDefinition) => LogSink;
  /** A cap on the upload rate (`initial start --bandwidth-limit`): a large copy leaves the link usable. */
  bandwidth?: BandwidthSchedule;
  /** Only run when the next cycle is a full copy (initial replication commands). */
  initialOnly?: boolean;
  /**
   * The last cycle of a planned failover (Start-VMFailover -Prepare, VM off): once the replica accepted
   * it, the primary tells it so (the VM definition with PreparedForFailover), and both record Planned.
   */
  planned?: boolean;
  clock?: () => Date;
}

export interface CycleReport {
  VMName: string;
  VMId: string;
  /** 'resync': a hash comparison sent what differed (resynchronization, src/agent/resync.ts). */
  Kind: 'initial' | 'delta' | 'resync';
  Generation: number;
  Sequence: number;
  ReferencePoint: string;
  Consistency: 'crash' | 'application';
  /** Bytes of log sent (after compression). */
  LogBytes: number;
  /** Bytes of disk the cycle covered (changed extents; the whole disks for a full copy). */
  ChangedBytes: number;
  /** Resync only: bytes of disk compared by hash (the disks' sizes). */
  ComparedBytes?: number;
  StartTime: string;
  EndTime: string;
  LatencySec: number;
}

export function definitionOf(vm: Awaited<ReturnType<HostAdapter['getVm']>>, rel: ReplicationRelationship): ReplicaVmDefinition {
  const spec = replicaDisksOf(vm);
  return {
    FormatVersion: REPLICA_VM_FORMAT_VERSION,
    VMId: spec.vmId,
    VMName: vm.name,
    Disks: spec.disks.map((d) => ({ DiskId: d.diskId, VirtualSize: d.virtualSize, LogicalSectorSize: d.logicalSectorSize })),
    RecoveryHistory: rel.RecoveryHistory,
    VSSSnapshotFrequencyHour: rel.VSSSnapshotFrequencyHour,
    ReplicationFrequencySec: rel.ReplicationFrequencySec,
    Configuration: { ...vm.configuration, SourceComputerName: hostname() },
  };
}

export async function requireRelationship(stateDir: string, vmId: string, vmName: string): Promise<ReplicationRelationship> {
  const rel = await new RelationshipStore(stateDir).get(vmId);
  if (!rel) throw new AgentError('ERR_REPLICATION_NOT_ENABLED', `VM '${vmName}' is not enabled for replication; run "hvreplica replication enable" first`);
  if (rel.ReplicationMode !== 'Primary') throw new AgentError('ERR_INVALID_STATE', `VM '${vmName}' is a ${rel.ReplicationMode} here; cycles are sent from its primary server`);
  return rel;
}

export function endpointOf(rel: ReplicationRelationship): ReplicaEndpoint {
  return { serverName: rel.CurrentReplicaServerName || rel.ReplicaServerName, port: rel.ReplicaServerPort, ...(rel.RelationshipId === undefined ? {} : { relationshipId: rel.RelationshipId }) };
}

export async function credentialOf(stateDir: string, rel: ReplicationRelationship): Promise<HostCredential> {
  if (rel.CertificateThumbprint === null) {
    throw new AgentError('ERR_INVALID_STATE', `the relationship of '${rel.VMName}' names no certificate; set one with "hvreplica replication set --certificate-thumbprint"`);
  }
  return new FileCertificateStore(stateDir).credential(rel.CertificateThumbprint);
}

/** Whether the next cycle is a full copy: nothing acknowledged yet, tracking lost, or disks added. */
async function needsFullCopy(stateDir: string, vm: Awaited<ReturnType<HostAdapter['getVm']>>): Promise<boolean> {
  const state = await loadPrimaryState(primaryStateFile(stateDir, vm.id));
  return !state || state.fullCopyRequired === true || vm.disks.some((d) => state.disks[d.id] === undefined);
}

/**
 * Per VM id, a cycle of this process whose reference point is still being committed after its report
 * was returned: the cycle lock is held until the commit is over (so no other process settles the same
 * point meanwhile), and this process's next cycle of the VM waits for it. Each is also work after a
 * result (util/work-after-result.ts): whoever ends the process waits for all of them there.
 */
const cycleTails = new Map<string, Promise<unknown>>();

export async function replicateVm(options: ReplicateOptions): Promise<CycleReport> {
  const { stateDir, host } = options;
  const clock = options.clock ?? (() => new Date());
  // Where a cycle's time goes around the Replicator's own steps (its `cycle steps (ms)` line): the debug log.
  const steps = new PhaseTimes();
  const vm = await host.getVm(options.vm);
  await cycleTails.get(vm.id);
  const rel = await requireRelationship(stateDir, vm.id, vm.name);
  steps.lap('describe');
  // A resync waiting, due or interrupted: continue it (or say why not) instead of a delta.
  if (RESYNC_STATES.has(rel.ReplicationState) && !options.sink && !options.initialOnly && !options.planned) {
    const { resyncIfDue } = await import('./resync.js');
    return withCycleLock(cycleLockFile(stateDir, vm.id), vm.name, (cancelled) => resyncIfDue({ ...options, signal: joinSignals(options.signal, cancelled) }, rel));
  }
  if (!SENDING_STATES.has(rel.ReplicationState)) {
    const hint = rel.ReplicationState === 'Suspended' ? '; resume it with "hvreplica replication resume"' : '';
    throw new AgentError('ERR_INVALID_STATE', `replication of '${vm.name}' is ${rel.ReplicationState}: no cycle is sent${hint}`);
  }
  const store = new RelationshipStore(stateDir);
  const monitoring = await new ReplicaConfigStore(stateDir).load();
  steps.lap('settings');
  // The report goes back once the cycle is acknowledged and recorded; with a commit still running the lock
  // is let go after it (`held`), not before.
  let reported!: (report: CycleReport) => void;
  const report = new Promise<CycleReport>((resolve) => (reported = resolve));
  const held = withCycleLock(cycleLockFile(stateDir, vm.id), vm.name, async (cancelled) => {
    const signal = joinSignals(options.signal, cancelled);
    steps.lap('lock');
    const fullCopy = await needsFullCopy(stateDir, vm);
    if (options.initialOnly && !fullCopy) {
      throw new AgentError('ERR_INVALID_STATE', `the initial replication of '${vm.name}' is already done; delta cycles follow with "hvreplica replicate" or the agent`);
    }
    const definition = definitionOf(vm, rel);
    // Sent only with a full copy (or an export): a Hyper-V replica realises the VM from these files.
    const exported = fullCopy || options.sink ? await host.exportDefinition(vm.id) : undefined;
    if (exported) definition.HostConfiguration = hostConfigurationToWire(exported);
    let uploader: Http2LogUploader | undefined;
    let sink: LogSink;
    if (options.sink) {
      sink = options.sink(definition);
    } else {
      const credential = await credentialOf(stateDir, rel);
      const endpoint = endpointOf(rel);
      if (fullCopy) {
        const client = await ReplicaClient.connect(endpoint, credential, { signal });
        try {
          const defined = await client.defineVm(definition, signal);
          log.info('replica VM defined on the replica server', { vm: vm.name, created: defined.Created });
        } finally {
          await client.close();
        }
      }
      steps.lap('credential');
      uploader = new Http2LogUploader((closing) => ReplicaClient.connect(endpoint, credential, { signal: joinSignals(signal, closing) }));
      sink = new TransportSink({
        uploader: new RetryingUploader(
          options.bandwidth ? new BandwidthLimitedUploader(uploader, options.bandwidth) : uploader,
          options.retry ?? { attempts: 3, backoffMs: (n) => 500 * 2 ** (n - 1) },
        ),
        spoolDir: spoolDir(stateDir),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
    }
    if (fullCopy) await store.update(vm.id, (current) => ({ next: current && { ...current, ReplicationState: current.ReplicationState === 'Replicating' ? 'Replicating' : 'InitialReplicationInProgress' }, result: undefined }));
    const replicator = new Replicator({
      host,
      vm: vm.id,
      sink,
      stateFile: primaryStateFile(stateDir, vm.id),
      codecPolicy: () => (rel.CompressionEnabled ? new AdaptiveCodecPolicy() : new AdaptiveCodecPolicy(noneCodec)),
      // A planned failover goes on from this cycle at once: its point is committed before it returns.
      commitInBackground: !options.planned,
    });
    steps.lap('prepare');
    const start = clock();
    let result: CycleResult;
    try {
      // The TLS handshake runs while the cycle takes its reference point (closed in `finally` either way).
      uploader?.connectAhead();
      result = await replicator.syncOnce(signal);
    } catch (error) {
      // A cycle stopped on purpose (agent stop, initial stop, suspend) is no failure of the relationship.
      if (signal.aborted) throw error;
      // The replica server removed this relationship: Error, and no cycle starts until its administrator acts.
      await store.update(vm.id, (current) => ({ next: current && afterFailure(current, error, clock(), monitoring), result: undefined }));
      // Tracking lost its place, or the replica is out of step: resynchronize (now, or when its rules allow).
      if (!fullCopy && !options.sink && !options.planned && needsResync(error)) return (await import('./resync.js')).resyncAfterFailure({ ...options, signal }, vm.id, error);
      throw error;
    } finally {
      await uploader?.close();
    }
    if (options.planned && !options.sink) {
      const client = await ReplicaClient.connect(endpointOf(rel), await credentialOf(stateDir, rel), { signal });
      try {
        await client.defineVm({ ...definition, PreparedForFailover: { Generation: result.generation, Sequence: result.sequence } }, signal);
      } finally {
        await client.close();
      }
    }
    const end = clock();
    steps.lap('cycle');
    const latencySec = (end.getTime() - start.getTime()) / 1000;
    await store.update(vm.id, (current) => {
      const next = current && afterSuccess(current, { kind: result.kind, consistency: result.consistency, logBytes: result.logBytes, latencySec }, end, monitoring);
      return { next: next && options.planned ? { ...next, LastReplicationType: 'Planned' } : next, result: undefined };
    });
    steps.lap('record');
    log.debug('agent steps (ms)', { vm: vm.name, sequence: result.sequence, ...steps.ms });
    reported({
      VMName: vm.name,
      VMId: vm.id,
      Kind: result.kind,
      Generation: result.generation,
      Sequence: result.sequence,
      ReferencePoint: result.referencePoint,
      Consistency: result.consistency,
      LogBytes: result.logBytes,
      ChangedBytes: result.changedBytes,
      StartTime: start.toISOString(),
      EndTime: end.toISOString(),
      LatencySec: latencySec,
    });
    await commitsSettled(vm.id);
    return report;
  });
  // Only for waiting: the failure itself reaches the caller through the race below.
  const tail: Promise<unknown> = held
    .catch(() => undefined)
    .finally(() => {
      if (cycleTails.get(vm.id) === tail) cycleTails.delete(vm.id);
    });
  cycleTails.set(vm.id, tail);
  runsAfterResult(tail);
  // Whichever comes first: the report, or the failure of the cycle before it.
  return Promise.race([report, held]);
}
