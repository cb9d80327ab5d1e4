/**
 * Extended replication over the network (hyperv-replica.md §5.7), as the replica server B keeps it: the
 * replica VMs B's server holds (each may be extended to a third server C), and the Extended relationship
 * `replication enable` creates for one of them on B.
 *
 * The Extended relationship is the failover library's record (`<state>/failover/<VMId>.extended.json`,
 * mode Primary: B is its sending end; src/failover/extended.ts), which also carries the relationship as
 * `replication get` shows it (`Relationship`: C's name and port, the certificate, statistics). One file,
 * one lock: what the library does to the record (halt on reverse, drop on continue) drops the settings
 * with it, and its state is the record's state.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FailoverSite, FailoverStore, type FailoverRecord } from '../failover/index.js';
import { newRecord } from '../failover/replication.js';
import type { VmConfiguration } from '../host/host-adapter.js';
import { normalizeGuid, type ReplicaVmDefinition } from '../protocol/index.js';
import {
  enableRelationship,
  isWildcard,
  nameMatches,
  RelationshipError,
  validateExtendedEnable,
  type DiskRef,
  type EnableParameters,
  type ReplicationMode,
  type ReplicationRelationship,
  type ReplicationState,
} from '../relationship/index.js';
import { DEFINITION_FILE, ReplicaConfigStore, VmRegistry } from '../replica/index.js';
import { readJsonFile } from '../replica/atomic-file.js';
import { loadState } from '../storage/replica-state.js';
import { emptyStatistics } from '../relationship/statistics.js';
import { replicaStatistics } from '../replica/replica-statistics.js';

/** A replica VM this host's replica server holds: what extending it needs. */
export interface HeldReplica {
  /** The VM's GUID (the logs' VMId; the file host's VM id). */
  vmId: string;
  vmName: string;
  /** The server's folder of the replica (VHDX replica storage). */
  storagePath: string;
  definition: ReplicaVmDefinition;
  configuration: VmConfiguration;
  /** Its failover record on this host, once the server keeps one. */
  record: FailoverRecord | undefined;
  mode: ReplicationMode;
  state: ReplicationState;
  /** The frequency its primary sends at. */
  replicationFrequencySec: number;
  /** The name its primary authenticated with (A). */
  primaryServerName: string;
}

/** The extended relationship record: the library's record plus the relationship `replication get` shows. */
export interface ExtendedRecord extends FailoverRecord {
  Relationship: ReplicationRelationship;
}

export function isExtendedRecord(record: FailoverRecord | undefined): record is ExtendedRecord {
  return record !== undefined && typeof (record as Partial<ExtendedRecord>).Relationship === 'object';
}

/** The relationship type a definition announces (the extended sender marks its own; older senders none). */
export function definitionRelationshipType(definition: ReplicaVmDefinition): 'Simple' | 'Extended' {
  return definition.ReplicationRelationshipType === 'Extended' ? 'Extended' : 'Simple';
}

function configurationOf(definition: ReplicaVmDefinition, path: string): VmConfiguration {
  const config = definition.Configuration as unknown as VmConfiguration;
  if (typeof config.id !== 'string' || !Array.isArray(config.disks)) {
    throw new RelationshipError('ERR_CORRUPT_STATE', `${join(path, DEFINITION_FILE)} carries no VM configuration; the primary must send its definition again (a new initial replication)`);
  }
  return config;
}

/** Whether the storage has applied a cycle, read from its state file (no opening: the server owns it). */
async function hasContent(storagePath: string): Promise<boolean> {
  try {
    return (await loadState(join(storagePath, 'state.json'))).position !== null;
  } catch {
    return false;
  }
}

/** Every replica VM this host's replica server holds whose name matches `pattern`. */
export async function heldReplicas(stateDir: string, pattern: string): Promise<HeldReplica[]> {
  const store = new FailoverStore(stateDir);
  const out: HeldReplica[] = [];
  for (const vm of await new VmRegistry(stateDir).list()) {
    const definition = await readJsonFile<ReplicaVmDefinition>(join(vm.Path, DEFINITION_FILE));
    if (!definition || !nameMatches(pattern, definition.VMName)) continue;
    const record = await store.get(vm.VMId);
    // Without a record (a server that writes none) the replica is described by its storage: it
    // replicates once a cycle was applied, and is an extended replica when its sender said so.
    const mode = record?.mode ?? (definitionRelationshipType(definition) === 'Extended' ? 'ExtendedReplica' : 'Replica');
    const state = record?.state ?? ((await hasContent(vm.Path)) ? 'Replicating' : 'WaitingForInitialReplication');
    out.push({
      vmId: normalizeGuid(vm.VMId, 'VM id'),
      vmName: definition.VMName,
      storagePath: vm.Path,
      definition,
      configuration: configurationOf(definition, vm.Path),
      record,
      mode,
      state,
      replicationFrequencySec: record?.replicationFrequencySec ?? definition.ReplicationFrequencySec,
      primaryServerName: record?.peerServer ?? vm.PrimaryServerName,
    });
  }
  return out;
}

/** The held replica an exact name or a pattern selects; an exact name that matches none is undefined. */
export async function selectHeldReplicas(stateDir: string, pattern: string): Promise<HeldReplica[] | undefined> {
  const held = await heldReplicas(stateDir, pattern);
  return held.length === 0 && !isWildcard(pattern) ? undefined : held;
}

/** The replicated disks of the replica as DiskRefs: its base disk files in the server's storage. */
async function diskRefs(replica: HeldReplica): Promise<DiskRef[]> {
  const state = await loadState(join(replica.storagePath, 'state.json'));
  const base = state.layers[0]!;
  return state.disks.map((d) => ({ Path: join(replica.storagePath, 'disks', base.files[d.diskId] ?? `${d.diskId}.vhdx`), ControllerType: null, ControllerNumber: null, ControllerLocation: null }));
}

/**
 * Enable-VMReplication on the replica server for a replica VM: validates Hyper-V's extended rules and
 * writes the Extended record (Primary on this host, ReadyForInitialReplication). `identity` gives this
 * host's name as C will see it (its certificate's DNS name).
 */
export async function enableExtended(stateDir: string, replica: HeldReplica, params: EnableParameters, identity: () => Promise<string>, now: Date): Promise<ExtendedRecord> {
  const { frequency } = validateExtendedEnable({ vmName: replica.vmName, mode: replica.mode, state: replica.state, replicationFrequencySec: replica.replicationFrequencySec }, params);
  // After the rules: a bad value is reported as such rather than as a missing certificate.
  const primaryServerName = await identity();
  const vm = { id: replica.vmId, name: replica.vmName, isReplica: false, disks: await diskRefs(replica) };
  const { ExcludedVhdPath: _excluded, ...rest } = params;
  const relationship: ReplicationRelationship = {
    ...enableRelationship(vm, { ...rest, ReplicationFrequencySec: frequency }, { primaryServerName, now }),
    ReplicationRelationshipType: 'Extended',
    VSSSnapshotFrequencyHour: 0,
  };
  if (relationship.ReplicaServerName === primaryServerName.toLowerCase()) {
    throw new RelationshipError('ERR_INVALID_ARGUMENT', `--replica-server-name names this host (${primaryServerName}); extended replication goes to a third server`);
  }
  if (relationship.ReplicaServerName === replica.primaryServerName.toLowerCase()) {
    throw new RelationshipError('ERR_INVALID_ARGUMENT', `--replica-server-name names the primary of VM '${replica.vmName}'; extended replication goes to a third server (A→B→C)`);
  }
  const site = new FailoverSite({ name: primaryServerName, stateDir, clock: () => now });
  const record: ExtendedRecord = {
    ...newRecord(site, replica.configuration, 'Primary', relationship.ReplicaServerName, {
      replicationFrequencySec: frequency,
      recoveryHistory: relationship.RecoveryHistory,
      relationshipType: 'Extended',
    }),
    Relationship: relationship,
  };
  return site.store.update(
    replica.vmId,
    (current) => {
      if (current) throw new RelationshipError('ERR_ALREADY_EXISTS', `VM '${replica.vmName}' already has an extended replication from this host (to ${current.peerServer}); remove it first`);
      return { next: record, result: record };
    },
    'Extended',
  );
}

/** The Extended relationship as `replication get` shows it: the record's state over the stored settings. */
export function extendedView(record: ExtendedRecord): ReplicationRelationship {
  return {
    ...record.Relationship,
    VMName: record.vmName,
    ReplicationMode: record.mode,
    ReplicationRelationshipType: record.relationshipType,
    ReplicationState: record.state,
    ReplicationFrequencySec: record.replicationFrequencySec,
    RecoveryHistory: record.recoveryHistory,
    LastReplicationTime: record.lastReplicationTime,
    LastReplicationType: record.lastReplicationType,
  };
}

const EXTENDED_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.extended\.json$/;
const RECORD_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.json$/;

/** This host's Extended relationships (B's side), by VM id. */
export async function extendedRecords(stateDir: string): Promise<ExtendedRecord[]> {
  const store = new FailoverStore(stateDir);
  const out: ExtendedRecord[] = [];
  for (const file of (await readdir(store.dir).catch(() => [] as string[])).sort()) {
    const match = EXTENDED_FILE.exec(file);
    if (!match) continue;
    const record = await store.get(match[1]!, 'Extended');
    if (isExtendedRecord(record)) out.push(record);
  }
  return out;
}

/**
 * The extended replicas this host's replica server holds (C's side), as relationships: Hyper-V shows them
 * with mode ExtendedReplica, the sending replica server as primary and this server as replica.
 */
export async function extendedReplicaRelationships(stateDir: string, now: Date): Promise<ReplicationRelationship[]> {
  const store = new FailoverStore(stateDir);
  const server = await new ReplicaConfigStore(stateDir).load();
  const registry = new VmRegistry(stateDir);
  const out: ReplicationRelationship[] = [];
  for (const file of (await readdir(store.dir).catch(() => [] as string[])).sort()) {
    const match = RECORD_FILE.exec(file);
    if (!match) continue;
    const record = await store.get(match[1]!);
    if (!record || record.mode !== 'ExtendedReplica') continue;
    const held = await registry.get(record.vmId).catch(() => undefined);
    const rel = replicaSideRelationship(record, server.CertificateAuthenticationPort, server.CertificateThumbprint, held?.AllowedPrimaryServer ?? null, now);
    // What this server received and applied of it (replica-statistics.ts), as Hyper-V's replica side shows.
    out.push({ ...rel, Statistics: await replicaStatistics(stateDir, record.vmId, now, server) });
  }
  return out;
}

function replicaSideRelationship(record: FailoverRecord, port: number, thumbprint: string | null, allowed: string | null, now: Date): ReplicationRelationship {
  return {
    VMName: record.vmName,
    VMId: record.vmId,
    ReplicationMode: record.mode,
    ReplicationRelationshipType: record.relationshipType,
    ReplicationState: record.state,
    PrimaryServerName: record.peerServer,
    ReplicaServerName: record.localServer,
    CurrentReplicaServerName: record.localServer,
    ReplicaServerPort: port,
    AuthenticationType: 'Certificate',
    CertificateThumbprint: thumbprint,
    CompressionEnabled: true,
    BypassProxyServer: false,
    ReplicateHostKvpItems: true,
    ReplicationFrequencySec: record.replicationFrequencySec,
    RecoveryHistory: record.recoveryHistory,
    VSSSnapshotFrequencyHour: 0,
    ReplicatedDisks: record.configuration.disks.map((d) => ({ Path: d.id, ControllerType: null, ControllerNumber: null, ControllerLocation: null })),
    ExcludedDisks: [],
    AutoResynchronizeEnabled: false,
    AutoResynchronizeIntervalStart: 66600,
    AutoResynchronizeIntervalEnd: 21600,
    InitialReplicationStartTime: null,
    ResynchronizeStartTime: null,
    LastReplicationTime: record.lastReplicationTime,
    LastAppliedLogTime: record.lastReplicationTime,
    LastReplicationType: record.lastReplicationType,
    FailedOverReplicationType: record.failedOverReplicationType,
    LastVSSSnapshotTime: null,
    LastTestFailoverInitiatedTime: record.lastTestFailoverInitiatedTime,
    AllowedPrimaryServer: allowed,
    PendingReplicationSize: 0,
    InitialReplicationSize: 0,
    Statistics: emptyStatistics(now),
  };
}

/** The lock one extended cycle of replica VM `vmId` holds on B (never two at once; a removal waits for it). */
export function extendedCycleLockFile(stateDir: string, vmId: string): string {
  return join(new FailoverStore(stateDir).dir, `${normalizeGuid(vmId, 'VM id')}.extended.cycle.lock`);
}

/** Where B keeps the position of the last extended cycle C acknowledged (the library's file). */
export function extendedPositionFile(stateDir: string, vmId: string): string {
  return new FailoverSite({ name: 'this host', stateDir }).extendedStateFile(vmId);
}
