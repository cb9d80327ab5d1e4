/**
 * The replication commands over the relationship store, the host adapter (which VMs exist, their
 * disks) and the certificate store (the thumbprint must name a usable certificate of this host, whose
 * DNS name is this host's identity as a primary).
 */
import type { HostAdapter } from '../../../host/host-adapter.js';
import {
  emptyStatistics,
  enableRelationship,
  isWildcard,
  nameMatches,
  RelationshipError,
  RelationshipStore,
  REPLICATION_STATES,
  rollStatistics,
  setRelationship,
  validateEnableParameters,
  vmForReplication,
  assessHealth,
  carriesPendingSize,
  pendingSizeNow,
  type AuthenticationType,
  type ReplicationRelationship,
} from '../../../relationship/index.js';
import { RemovedRelationships, ReplicaConfigStore } from '../../../replica/index.js';
import { isFailoverError, removeReplica } from '../../../failover/index.js';
import { logger } from '../../../logging/logger.js';
import { recordAfterApply } from '../../../replica/applied-record.js';
import { replicaStatistics, resetReplicaStatistics } from '../../../replica/replica-statistics.js';
import { requestCycleCancel } from '../../../agent/cycle-lock.js';
import { forgetPrimaryPosition } from '../../../agent/forget-primary-position.js';
import { cycleLockFile, primaryStateFile } from '../../../agent/paths.js';
import { loadPrimaryState } from '../../../engine/primary-state.js';
import { FileCertificateStore } from '../../../security/index.js';
import type { CommandResult } from '../../output.js';
import type { RelationshipWithFailover } from '../../../failover/record.js';
import { localSite, selectRecords, standaloneRecords } from '../failover/select.js';
import { testVirtualMachine } from '../failover/test-vm.js';
import { resumesResync, type ReplicationArgs } from './command.js';
import { finishHeldChainsBeforeRemoval, resolveVms } from './held-chains.js';
import { openHostAdapter } from './host.js';
import { withInitialStatus } from './initial-status.js';
import { healthView, replicationView } from './view.js';

const log = logger('replication');

function invalid(message: string): never {
  throw new RelationshipError('ERR_INVALID_ARGUMENT', message);
}

function requireName(args: ReplicationArgs): string {
  const name = args['vm-name']?.trim();
  if (!name) invalid('--vm-name is required');
  return name!;
}

async function primaryIdentity(stateDir: string, thumbprint: string): Promise<string> {
  const credential = await new FileCertificateStore(stateDir).credential(thumbprint);
  return credential.dnsNames[0]!;
}

function commonParameters(args: ReplicationArgs) {
  const pick = <K extends keyof ReplicationArgs>(key: K) => args[key];
  return Object.fromEntries(
    Object.entries({
      ReplicaServerName: pick('replica-server-name'),
      ReplicaServerPort: pick('replica-server-port'),
      AuthenticationType: pick('authentication-type') as AuthenticationType | undefined,
      CertificateThumbprint: pick('certificate-thumbprint'),
      CompressionEnabled: pick('compression-enabled'),
      ReplicateHostKvpItems: pick('replicate-host-kvp-items'),
      BypassProxyServer: pick('bypass-proxy-server'),
      VSSSnapshotFrequencyHour: pick('vss-snapshot-frequency-hour'),
      RecoveryHistory: pick('recovery-history'),
      ReplicationFrequencySec: pick('replication-frequency-sec'),
      AutoResynchronizeEnabled: pick('auto-resynchronize-enabled'),
      AutoResynchronizeIntervalStart: pick('auto-resynchronize-interval-start'),
      AutoResynchronizeIntervalEnd: pick('auto-resynchronize-interval-end'),
    }).filter(([, value]) => value !== undefined),
  );
}

export async function enable(args: ReplicationArgs): Promise<CommandResult> {
  const pattern = requireName(args);
  if (args['as-replica'] || args['allowed-primary-server'] !== undefined) {
    throw new RelationshipError('ERR_NOT_SUPPORTED', 'enabling a VM as a replica (--as-replica) belongs to initial replication from a copy, which is not available yet');
  }
  for (const required of ['replica-server-name', 'replica-server-port', 'authentication-type'] as const) {
    if (args[required] === undefined) invalid(`--${required} is required`);
  }
  const now = new Date();
  // A replica VM this host's replica server holds: enabling it extends its replication (A→B→C, §5.7).
  const extendedParams = { ...commonParameters(args), ExcludedVhdPath: args['excluded-vhd-path'] } as Parameters<typeof enableRelationship>[1];
  const extended = await (await import('./extended.js')).enableExtendedReplicas(args, pattern, extendedParams, now);
  if (extended.exclusive) return { data: extended.records.map((r) => replicationView(r, now)) };
  const host = openHostAdapter(args);
  const store = new RelationshipStore(args['state-dir']);
  const out: Record<string, unknown>[] = extended.records.map((r) => replicationView(r, now));
  for (const summary of await resolveVms(host, pattern)) {
    const vm = vmForReplication(await host.getVm(summary.id));
    const params = { ...commonParameters(args), ExcludedVhdPath: args['excluded-vhd-path'] } as Parameters<typeof enableRelationship>[1];
    // Parameter errors first, so a bad value is reported as such rather than as a missing certificate.
    validateEnableParameters(vm, params);
    const primaryServerName = await primaryIdentity(args['state-dir'], args['certificate-thumbprint']!);
    // A new relationship starts with a full copy: a position an earlier one of this VM left (saved again by
    // its last cycle after its removal, or by a removal that failed part-way) is not this one's. Only when
    // no relationship is live (enable refuses one), and before the new one exists for the agent to start.
    const current = await store.get(vm.id);
    if (!current || current.ReplicationState === 'Disabled') await forgetPrimaryPosition(args['state-dir'], vm.id, vm.name);
    const rel = await store.update(vm.id, (existing) => {
      const next = enableRelationship(vm, params, { primaryServerName, now, ...(existing ? { existing } : {}) });
      return { next, result: next };
    });
    out.push(replicationView(rel, now));
  }
  return { data: out };
}

/** Settings `--reverse` takes with it (Set-VMReplication -Reverse: the new direction's server and certificate). */
const REVERSE_SETTINGS = new Set(['reverse', 'replica-server-name', 'replica-server-port', 'authentication-type', 'certificate-thumbprint']);
const SET_SETTINGS = [
  'replica-server-name', 'replica-server-port', 'authentication-type', 'certificate-thumbprint', 'compression-enabled', 'replicate-host-kvp-items',
  'bypass-proxy-server', 'vss-snapshot-frequency-hour', 'recovery-history', 'replication-frequency-sec', 'replicated-disk-paths', 'auto-resynchronize-enabled',
  'auto-resynchronize-interval-start', 'auto-resynchronize-interval-end', 'initial-replication-start-time', 'disable-vss-snapshot-replication', 'use-backup',
] as const;

/**
 * Set-VMReplication -Reverse / -AsReplica (hyperv-replica.md §2.2, §5.6): the direction changes after a
 * failover, through the failover library and this host's replica server (src/failover/network.ts).
 */
async function changeDirection(args: ReplicationArgs, pattern: string): Promise<CommandResult> {
  const given = SET_SETTINGS.filter((k) => args[k] !== undefined);
  if (args.reverse && args['as-replica']) invalid('--reverse and --as-replica are separate steps on different hosts: --as-replica on the old primary, --reverse on the failed-over replica');
  if (args.reverse && args['replicated-disk-paths'] !== undefined) invalid('--reverse cannot be combined with --replicated-disk-paths: the reversed relationship replicates the disks of the failed-over VM');
  if (args.reverse && args['allowed-primary-server'] !== undefined) invalid('--allowed-primary-server goes with --as-replica on the old primary, not with --reverse');
  if (args.reverse && given.some((k) => !REVERSE_SETTINGS.has(k))) {
    invalid(`--reverse takes only --replica-server-name, --replica-server-port and --certificate-thumbprint; change ${given.filter((k) => !REVERSE_SETTINGS.has(k)).map((k) => `--${k}`).join(', ')} on the new primary afterwards`);
  }
  if (args.reverse && args['authentication-type'] !== undefined && args['authentication-type'] !== 'Certificate') invalid('hvreplica authenticates replication with certificates only (--authentication-type Certificate)');
  if (args['as-replica'] && given.length > 0) invalid('--as-replica cannot be combined with any other setting except --allowed-primary-server');
  const { asReplicaOverNetwork, reverseOverNetwork } = await import('../../../failover/network.js');
  const site = localSite(args['state-dir'], args['vm-root']);
  const host = site.host;
  const now = new Date();
  const out: Record<string, unknown>[] = [];
  for (const { record } of await selectRecords(site, pattern)) {
    if (args['as-replica']) {
      await asReplicaOverNetwork(site, host, record.vmId, args['allowed-primary-server']);
    } else {
      await reverseOverNetwork(site, host, record.vmId, {
        ...(args['replica-server-name'] !== undefined ? { replicaServerName: args['replica-server-name'] } : {}),
        ...(args['replica-server-port'] !== undefined ? { replicaServerPort: args['replica-server-port'] } : {}),
        ...(args['certificate-thumbprint'] !== undefined ? { certificateThumbprint: args['certificate-thumbprint'] } : {}),
      });
    }
    const rel = await new RelationshipStore(args['state-dir']).get(record.vmId);
    if (rel) out.push(await withTestVm(args['state-dir'], replicationView(rel, now)));
  }
  return { data: out };
}

export async function set(args: ReplicationArgs): Promise<CommandResult> {
  const pattern = requireName(args);
  if (args.reverse || args['as-replica']) return changeDirection(args, pattern);
  const host = openHostAdapter(args);
  const store = new RelationshipStore(args['state-dir']);
  const now = new Date();
  let start: Date | undefined;
  if (args['initial-replication-start-time'] !== undefined) {
    start = new Date(args['initial-replication-start-time']);
    if (Number.isNaN(start.getTime())) invalid(`--initial-replication-start-time "${args['initial-replication-start-time']}" is not an ISO 8601 date`);
  }
  const params = {
    ...commonParameters(args),
    ...(start ? { InitialReplicationStartTime: start } : {}),
    ...(args['disable-vss-snapshot-replication'] !== undefined ? { DisableVSSSnapshotReplication: args['disable-vss-snapshot-replication'] } : {}),
    ...(args['replicated-disk-paths'] !== undefined ? { ReplicatedDiskPaths: args['replicated-disk-paths'] } : {}),
    ...(args['use-backup'] !== undefined ? { UseBackup: args['use-backup'] } : {}),
    ...(args.reverse !== undefined ? { Reverse: args.reverse } : {}),
    ...(args['as-replica'] !== undefined ? { AsReplica: args['as-replica'] } : {}),
    ...(args['allowed-primary-server'] !== undefined ? { AllowedPrimaryServer: args['allowed-primary-server'] } : {}),
  } as Parameters<typeof setRelationship>[2];
  if (args['certificate-thumbprint'] !== undefined) await primaryIdentity(args['state-dir'], args['certificate-thumbprint']);
  const out: Record<string, unknown>[] = [];
  for (const summary of await resolveVms(host, pattern)) {
    const vm = vmForReplication(await host.getVm(summary.id));
    const rel = await store.update(vm.id, (current) => {
      if (!current) throw new RelationshipError('ERR_REPLICATION_NOT_ENABLED', `VM '${vm.name}' is not enabled for replication; enable it first`);
      const next = setRelationship(vm, current, params, now);
      return { next, result: next };
    });
    out.push(replicationView(rel, now));
  }
  return { data: out };
}

/**
 * The replica server's records of the VMs this host receives (mode Replica, or Primary after a reverse
 * with no relationship file yet), in the relationship's shape so that one view and one health assessment
 * serve both ends: the replica's settings are the server's (port, certificate) and its authorization
 * entry's (AllowedPrimaryServer); its statistics are what its replica server counted per received and
 * applied cycle. ExtendedReplica records are extended.ts's.
 */
async function replicaRelationships(stateDir: string, relationships: readonly ReplicationRelationship[]): Promise<ReplicationRelationship[]> {
  const site = localSite(stateDir);
  const records = (await standaloneRecords(site, relationships)).filter((r) => r.mode !== 'ExtendedReplica');
  if (records.length === 0) return [];
  const server = await new ReplicaConfigStore(stateDir).load();
  const now = new Date();
  const out: ReplicationRelationship[] = [];
  for (const listed of records) {
    // After the apply of a cycle the server has just acknowledged, if one runs (src/replica/applied-record.ts).
    const r = await recordAfterApply(site, listed);
    const registered = await site.registry.get(r.vmId);
    const disks = r.configuration.disks.map((d) => ({ Path: d.location ?? d.id, ControllerType: null, ControllerNumber: null, ControllerLocation: null }));
    const primary = r.mode === 'Primary';
    out.push({
      VMName: r.vmName,
      VMId: r.vmId,
      ReplicationMode: r.mode,
      ReplicationRelationshipType: r.relationshipType,
      ReplicationState: r.state,
      PrimaryServerName: primary ? r.localServer : r.peerServer,
      ReplicaServerName: primary ? r.peerServer : r.localServer,
      CurrentReplicaServerName: primary ? r.peerServer : r.localServer,
      ReplicaServerPort: server.CertificateAuthenticationPort,
      AuthenticationType: 'Certificate',
      CertificateThumbprint: server.CertificateThumbprint,
      CompressionEnabled: true,
      BypassProxyServer: false,
      ReplicateHostKvpItems: true,
      ReplicationFrequencySec: r.replicationFrequencySec,
      RecoveryHistory: r.recoveryHistory,
      VSSSnapshotFrequencyHour: 0,
      ReplicatedDisks: disks,
      ExcludedDisks: [],
      AutoResynchronizeEnabled: false,
      AutoResynchronizeIntervalStart: 66600,
      AutoResynchronizeIntervalEnd: 21600,
      InitialReplicationStartTime: null,
      ResynchronizeStartTime: null,
      LastReplicationTime: r.lastReplicationTime,
      // The server applies each cycle as it completes: the last replication is the last applied log.
      LastAppliedLogTime: r.lastReplicationTime,
      LastReplicationType: r.lastReplicationType,
      FailedOverReplicationType: r.failedOverReplicationType,
      LastVSSSnapshotTime: null,
      LastTestFailoverInitiatedTime: r.lastTestFailoverInitiatedTime,
      AllowedPrimaryServer: registered?.AllowedPrimaryServer ?? null,
      PendingReplicationSize: 0,
      InitialReplicationSize: 0,
      // What this server received and applied (src/replica/replica-statistics.ts); missed counts are the primary's.
      Statistics: await replicaStatistics(stateDir, r.vmId, now, server),
    });
  }
  return out;
}

/** Get/Measure selection: exact names must name a VM that replicates; patterns may match nothing. */
async function selectRelationships(args: ReplicationArgs): Promise<ReplicationRelationship[]> {
  const state = args['replication-state'];
  if (state !== undefined && !(REPLICATION_STATES as readonly string[]).includes(state)) invalid(`--replication-state must be one of ${REPLICATION_STATES.join(', ')}`);
  if (state === 'Disabled' || args['replication-mode'] === 'None') invalid('VMs without replication have no relationship to show; filter on another state or mode');
  const store = new RelationshipStore(args['state-dir']);
  let rels = await store.list();
  const pattern = args['vm-name']?.trim();
  // Extended relationships (B) and extended replicas (C) have no VM on this host to look up by name.
  // …and the replica VMs this host's replica server receives (mode Replica): no VM here until they fail over.
  const extended = [...(await (await import('./extended.js')).extendedRelationships(args, new Date())), ...(await replicaRelationships(args['state-dir'], rels))];
  // A relationship whose VM is not on this host (an old primary made a replica) is found by its name too.
  const named = pattern && !isWildcard(pattern) ? [...rels, ...extended].filter((r) => r.VMName.toLowerCase() === pattern.toLowerCase()) : [];
  if (named.length > 0) {
    rels = named;
  } else if (pattern && !isWildcard(pattern)) {
    const vm = await openHostAdapter(args).getVm(pattern);
    rels = rels.filter((r) => r.VMId === vm.id);
    if (rels.length === 0) throw new RelationshipError('ERR_REPLICATION_NOT_ENABLED', `VM '${vm.name}' is not enabled for replication`);
  } else if (pattern) {
    rels = [...rels, ...extended].filter((r) => nameMatches(pattern, r.VMName));
  } else {
    rels = [...rels, ...extended];
  }
  const now = new Date();
  const eq = (a: string, b: string | undefined) => b === undefined || a.toLowerCase() === b.toLowerCase();
  return rels.filter(
    (r) =>
      eq(r.ReplicaServerName, args['replica-server-name']) &&
      eq(r.PrimaryServerName, args['primary-server-name']) &&
      eq(r.ReplicationState, state) &&
      eq(r.ReplicationMode, args['replication-mode']) &&
      eq(r.ReplicationRelationshipType, args['replication-relationship-type']) &&
      // Trust groups belong to replica-side relationships (their authorization entry); primaries have none.
      (args['trust-group'] === undefined ? true : r.AllowedPrimaryServer !== null) &&
      eq(assessHealth(r, now).ReplicationHealth, args['replication-health']),
  );
}

/** The running test failover's VM of a relationship (TestVirtualMachine), null when none runs. */
async function withTestVm(stateDir: string, view: Record<string, unknown>): Promise<Record<string, unknown>> {
  return { ...view, TestVirtualMachine: await testVirtualMachine(stateDir, String(view.VMId)) };
}

export async function get(args: ReplicationArgs): Promise<CommandResult> {
  const now = new Date();
  const out: Record<string, unknown>[] = [];
  for (const r of await selectRelationships(args)) out.push(await withTestVm(args['state-dir'], replicationView((await withInitialStatus(args['state-dir'], r)).rel, now)));
  return { data: out };
}

export async function measure(args: ReplicationArgs): Promise<CommandResult> {
  const now = new Date();
  const server = await new ReplicaConfigStore(args['state-dir']).load();
  const out: Record<string, unknown>[] = [];
  let host: HostAdapter | undefined;
  for (const r of await selectRelationships(args)) {
    // Read from the change tracker at this moment (relationship/pending.ts); replica rows need no host.
    const pending = carriesPendingSize(r) ? await pendingSizeNow((host ??= openHostAdapter(args)), r, primaryStateFile(args['state-dir'], r.VMId)) : 0;
    const initial = await withInitialStatus(args['state-dir'], { ...r, Statistics: rollStatistics(r.Statistics, now, server.MonitoringInterval, server.MonitoringStartTime) });
    const view = healthView(initial.rel, now, initial);
    out.push(await withTestVm(args['state-dir'], { ...view, PendingReplicationSize: pending }));
  }
  return { data: out };
}

/** `change` returns undefined to remove the relationship; `removing` says a removal is what is asked (its refusals say so). */
async function actOnSelected(args: ReplicationArgs, change: (rel: ReplicationRelationship, now: Date) => ReplicationRelationship | undefined, removing = false): Promise<CommandResult> {
  if (args['replication-relationship-type'] === 'Extended') {
    // The Extended relationship of a replica this host extends: its own record (src/agent/extended-relationship.ts).
    requireName(args);
    const now = new Date();
    const views = await (await import('./extended.js')).actOnExtended(args, change, removing);
    return { data: views.map((r) => replicationView(r, now)) };
  }
  const pattern = requireName(args);
  const host = openHostAdapter(args);
  const store = new RelationshipStore(args['state-dir']);
  const now = new Date();
  const out: Record<string, unknown>[] = [];
  for (const vm of await resolveVms(host, pattern)) {
    const exact = !isWildcard(pattern);
    const result = await store.update(vm.id, (current) => {
      if (!current) {
        if (exact) throw new RelationshipError('ERR_REPLICATION_NOT_ENABLED', `VM '${vm.name}' is not enabled for replication`);
        return { next: undefined, result: undefined };
      }
      const next = change(current, now);
      return { next, result: next ?? current };
    });
    if (result) out.push(replicationView(result, now));
  }
  return { data: out };
}

/**
 * Remove-VMReplication. On the replica server, a replica VM's relationship (Replica, also an old primary's
 * made a replica by -AsReplica; ExtendedReplica on the extended replica server, whichever relationship type
 * is asked) goes and its VM stays
 * (src/failover/remove-replica.ts). Then, as Hyper-V acts on every VM of the name, the host's own
 * relationships (an exact name that named a replica VM has none there as often as not: that is no error): a held chain of a completed failover is finished first, or waits with its VM
 * (held-chains.ts): a VM that waits keeps its relationship and is not in the result. A primary's removal
 * forgets its replication position, so enabling it again starts a new initial replication.
 */
export async function remove(args: ReplicationArgs): Promise<CommandResult> {
  const pattern = requireName(args);
  const extended = args['replication-relationship-type'] === 'Extended';
  const replicas = await removeReplicas(args, pattern, extended ? ['ExtendedReplica'] : ['Replica', 'ExtendedReplica']);
  const own = await removeOwn(args, pattern, extended).catch((error: unknown) => {
    const none = (error as { code?: string }).code === 'ERR_REPLICATION_NOT_ENABLED' || (error as { code?: string }).code === 'ERR_NOT_FOUND';
    if (replicas.length > 0 && none) return [];
    return alreadyRemoved(args, pattern, error);
  });
  return { data: [...replicas, ...own] };
}

/** Remove-VMReplication of the host's own relationships `pattern` selects; their rows as they were just before. */
async function removeOwn(args: ReplicationArgs, pattern: string, extended: boolean): Promise<Record<string, unknown>[]> {
  const waiting = extended ? new Set<string>() : await finishHeldChainsBeforeRemoval(localSite(args['state-dir'], args['vm-root']), pattern);
  const removed = await actOnSelected(args, (rel) => {
    if (waiting.has(rel.VMId)) return rel;
    // A chain held meanwhile (a completion racing this command) keeps its record: run the command again.
    if ((rel as RelationshipWithFailover).Failover?.heldChain) {
      throw new RelationshipError('ERR_INVALID_STATE', `VM '${rel.VMName}' was just left on the files of a recovery point by its failover; run the command again`);
    }
    return undefined;
  }, true);
  const rows = (removed.data as Array<Record<string, unknown>>).filter((row) => !waiting.has(String(row.VMId)));
  for (const row of rows) {
    if (row.ReplicationMode === 'Primary' && row.ReplicationRelationshipType === 'Simple') await forgetPrimaryPosition(args['state-dir'], String(row.VMId), String(row.VMName));
  }
  return rows;
}

/**
 * The replica VMs of this host's replica server that `pattern` selects, removed one by one (their views as
 * they were just before). One that cannot go now is left with a warning saying why, and the others go on:
 * each removal is final, so the result must say which went. Only an exact name's first is refused outright.
 */
async function removeReplicas(args: ReplicationArgs, pattern: string, modes: ReadonlyArray<'Replica' | 'ExtendedReplica'>): Promise<Record<string, unknown>[]> {
  const stateDir = args['state-dir'];
  const relationships = await new RelationshipStore(stateDir).list();
  const now = new Date();
  // An old primary made a replica (-AsReplica, then reversed to from the failed-over host) keeps its
  // relationship file, now in mode Replica: its removal is a replica's removal too, tombstone and all.
  const asReplica = relationships.filter((r) => r.ReplicationMode === 'Replica' && r.ReplicationRelationshipType === 'Simple');
  const views = [
    ...(await replicaRelationships(stateDir, relationships)),
    ...asReplica,
    ...(await (await import('../../../agent/extended-relationship.js')).extendedReplicaRelationships(stateDir, now)),
  ];
  const selected = views.filter((v) => (modes as readonly string[]).includes(v.ReplicationMode) && nameMatches(pattern, v.VMName));
  if (selected.length === 0) return [];
  const site = localSite(stateDir, args['vm-root']);
  const out: Record<string, unknown>[] = [];
  for (const view of selected) {
    try {
      const { kept } = await removeReplica(site, view.VMId);
      log.info(kept ? `replication of '${view.VMName}' removed; its VM is kept on this host as '${kept.name}' (${kept.id})` : `replication of '${view.VMName}' removed; it held no replicated content, so no VM is kept`, { vm: view.VMName });
      // As it was just before: no test failover ran (a running one refuses the removal).
      out.push(replicationView(view, now));
    } catch (error) {
      if (!isFailoverError(error) || (!isWildcard(pattern) && out.length === 0)) {
        if (out.length > 0) log.warn(`replication was removed already of: ${out.map((o) => String(o.VMName)).join(', ')}`);
        throw error;
      }
      log.warn(`replication of VM '${view.VMName}' was not removed: ${error.message}`, { vm: view.VMName, code: error.code });
    }
  }
  return out;
}

/** An exact name whose relationship this host removed before: says so, with when, instead of "not enabled". */
async function alreadyRemoved(args: ReplicationArgs, pattern: string, error: unknown): Promise<never> {
  const code = (error as { code?: string }).code;
  // Not enabled, or no VM of the name here at all (the kept VM was deleted since, or has another name).
  if (!isWildcard(pattern) && (code === 'ERR_REPLICATION_NOT_ENABLED' || code === 'ERR_NOT_FOUND')) {
    // By the relationship's name: the VM kept may have another id on this host (Hyper-V), or be gone.
    const last = await new RemovedRelationships(args['state-dir']).latestNamed(pattern);
    if (last) throw new RelationshipError('ERR_REPLICATION_NOT_ENABLED', `replication of VM '${last.VMName}' was already removed on this host at ${last.RemovedAt}; the VM it held was kept as an ordinary VM`);
  }
  throw error;
}

/**
 * Reset-VMReplicationStatistics. On a replica server it resets what the server counted for the replica
 * VMs the name selects (they have no VM on this host to look up); the host's own relationships as before.
 */
export async function resetStatistics(args: ReplicationArgs): Promise<CommandResult> {
  const reset = (rel: ReplicationRelationship, now: Date) => ({ ...rel, Statistics: emptyStatistics(now) });
  if (args['replication-relationship-type'] === 'Extended') return actOnSelected(args, reset);
  const pattern = requireName(args);
  const stateDir = args['state-dir'];
  const replicas = (await replicaRelationships(stateDir, await new RelationshipStore(stateDir).list())).filter((r) => r.ReplicationMode !== 'Primary' && nameMatches(pattern, r.VMName));
  const now = new Date();
  const site = localSite(stateDir);
  for (const r of replicas) await site.lockStorage(r.VMId, 'replication reset-statistics', () => resetReplicaStatistics(stateDir, r.VMId, now));
  const replicaRows = replicas.map((r) => replicationView({ ...r, Statistics: emptyStatistics(now) }, now));
  // An exact name that named a replica VM is done; a pattern also resets the host's own relationships.
  if (replicaRows.length > 0 && !isWildcard(pattern)) return { data: replicaRows };
  const own = await actOnSelected(args, reset);
  return { data: [...replicaRows, ...(own.data as Record<string, unknown>[])] };
}

/** States a pause applies to; failover states have their own commands, and a resync pauses as ResynchronizeSuspended. */
const SUSPENDABLE = new Set(['ReadyForInitialReplication', 'InitialReplicationInProgress', 'Replicating', 'Error']);

/**
 * Suspend-VMReplication. During a resynchronization (a primary's Resynchronizing) it pauses the resync
 * (ResynchronizeSuspended, until a resume; never restarted by its window) and stops a resync running in
 * another process through the cycle lock's cancel; the resume continues it with what still differs.
 * Otherwise a cycle running in another process (a `replicate`, the agent) is stopped the same way: a
 * suspended relationship sends nothing from the suspend on, and the stopped cycle's changes go with the
 * first cycle after the resume (its reference point is discarded, the position stays the last acknowledged).
 */
export async function suspend(args: ReplicationArgs): Promise<CommandResult> {
  // The VMs whose running cycle (if any) is stopped: every primary relationship the suspend pauses.
  const paused = new Set<string>();
  const result = await actOnSelected(args, (rel) => {
    if (rel.ReplicationState === 'Suspended' || (rel.ReplicationState === 'ResynchronizeSuspended' && rel.ResynchronizePausedByUser)) return rel;
    if (rel.ReplicationState === 'Resynchronizing' && rel.ReplicationMode === 'Primary' && rel.ReplicationRelationshipType === 'Simple') {
      paused.add(rel.VMId);
      return { ...rel, ReplicationState: 'ResynchronizeSuspended', ResynchronizePausedByUser: true };
    }
    if (!SUSPENDABLE.has(rel.ReplicationState)) throw new RelationshipError('ERR_INVALID_STATE', `replication of '${rel.VMName}' cannot be suspended in state ${rel.ReplicationState}`);
    if (rel.ReplicationMode === 'Primary') paused.add(rel.VMId);
    return { ...rel, ReplicationState: 'Suspended' };
  });
  for (const row of result.data as Array<Record<string, unknown>>) {
    if (!paused.has(String(row.VMId))) continue;
    // An Extended relationship's cycles (B to C) run under their own lock.
    const lock =
      row.ReplicationRelationshipType === 'Extended'
        ? (await import('../../../agent/extended-relationship.js')).extendedCycleLockFile(args['state-dir'], String(row.VMId))
        : cycleLockFile(args['state-dir'], String(row.VMId));
    await requestCycleCancel(lock, String(row.VMName));
  }
  return result;
}

/** States a plain resume acts on (Hyper-V's Suspended, ResynchronizeSuspended and Critical). */
const RESUMABLE = new Set(['Suspended', 'ResynchronizeSuspended', 'Error']);

export async function resume(args: ReplicationArgs): Promise<CommandResult> {
  // -ResynchronizeStartTime needs -Resynchronize (the cmdlet checks it too), and neither goes with --continue,
  // which compares B's VM with C by hash on its own: taken silently, they would be ignored.
  if (args.continue && (args.resynchronize || args['resynchronize-start-time'] !== undefined)) {
    invalid(
      `--continue does not go with --resynchronize or --resynchronize-start-time: it continues the extended replication and sends only what differs by itself; ` +
        `to resynchronize later, run "hvreplica replication resume --vm-name ${requireName(args)} --resynchronize" once it has continued`,
    );
  }
  if (args.continue) {
    // Resume-VMReplication -Continue on B after A→B failed over: B becomes the primary of its extended replica.
    const { continueExtendedNetwork } = await import('../../../agent/extended-continue.js');
    const result = await continueExtendedNetwork({ stateDir: args['state-dir'], vm: requireName(args), host: openHostAdapter(args) });
    return { data: [replicationView(result.relationship, new Date())] };
  }
  if (resumesResync(args)) {
    // Resume-VMReplication -Resynchronize [-ResynchronizeStartTime]: compare by hash, send what differs (the CLI
    // goes to resync.js directly; this serves callers of resume()).
    return (await import('./resync.js')).resumeResynchronize(args);
  }
  // Hyper-V refuses a plain resume of a relationship neither paused nor in error (§2.10); with a pattern the
  // others still resume, so only an exact name is refused, and a pattern leaves such a relationship as it is.
  const exact = !isWildcard(requireName(args));
  // Whether the initial copy was acknowledged decides where a resumed relationship continues.
  const acknowledged = new Map<string, boolean>();
  for (const rel of await new RelationshipStore(args['state-dir']).list()) {
    acknowledged.set(rel.VMId, (await loadPrimaryState(primaryStateFile(args['state-dir'], rel.VMId))) !== undefined);
  }
  return actOnSelected(args, (rel) => {
    // A resync paused by a suspend continues where it was: the next cycle (agent, replicate) compares again.
    if (rel.ReplicationState === 'ResynchronizeSuspended' && rel.ResynchronizePausedByUser) return { ...rel, ReplicationState: 'Resynchronizing', ResynchronizePausedByUser: false };
    // Refused as removed on the replica server (agent/relationship-updates.ts): the administrator says to try
    // again (Hyper-V's Resume of a relationship in Error); an initial copy not acknowledged is retried as after
    // any failure. An Extended relationship sends only while Replicating, and its next cycle asks the extended
    // replica server what it holds (a full copy when nothing): Replicating either way.
    if (rel.RemovedOnReplica) {
      const { RemovedOnReplica: _refused, ...rest } = rel;
      return { ...rest, ReplicationState: rel.ReplicationRelationshipType === 'Extended' || acknowledged.get(rel.VMId) ? 'Replicating' : 'Error' };
    }
    if (rel.ReplicationState === 'Suspended') return { ...rel, ReplicationState: acknowledged.get(rel.VMId) ? 'Replicating' : 'ReadyForInitialReplication' };
    // Hyper-V: a plain resume of a relationship in Error makes it Replicating. One whose initial copy never
    // completed stays in Error, which the agent retries as that initial copy (agent.ts INITIAL_STATES).
    if (rel.ReplicationState === 'Error' && acknowledged.get(rel.VMId)) return { ...rel, ReplicationState: 'Replicating' };
    if (!exact || RESUMABLE.has(rel.ReplicationState)) return rel;
    throw new RelationshipError(
      'ERR_INVALID_STATE',
      `replication of '${rel.VMName}' cannot be resumed in state ${rel.ReplicationState}: Resume-HvrVMReplication resumes a relationship that is Suspended ` +
        '(Suspend-HvrVMReplication), ResynchronizeSuspended or in Error; one that waits for a resynchronization (WaitingForStartResynchronize) ' +
        `starts it with --resynchronize (hvreplica replication resume --vm-name ${rel.VMName} --resynchronize, Resume-HvrVMReplication -Resynchronize)`,
    );
  });
}
