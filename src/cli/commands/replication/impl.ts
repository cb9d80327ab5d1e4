/**
 * The replication commands over the relationship store, the host adapter (which VMs exist, their
 * disks) and the certificate store (the thumbprint must name a usable certificate of this host, whose
 * DNS name is this host's identity as a primary).
 */
import type { HostAdapter, VmSummary } from '../../../host/host-adapter.js';
import {
  emptyStatistics,
  enableRelationship,
  isWildcard,
  nameMatches,
  RelationshipError,
  RelationshipStore,
  REPLICATION_STATES,
  rollStatistics,
  selectVms,
  setRelationship,
  validateEnableParameters,
  vmForReplication,
  assessHealth,
  type AuthenticationType,
  type ReplicationRelationship,
} from '../../../relationship/index.js';
import { ReplicaConfigStore } from '../../../replica/index.js';
import { primaryStateFile } from '../../../agent/paths.js';
import { loadPrimaryState } from '../../../engine/primary-state.js';
import { FileCertificateStore } from '../../../security/index.js';
import type { CommandResult } from '../../output.js';
import type { ReplicationArgs } from './command.js';
import { openHostAdapter } from './host.js';
import { healthView, replicationView } from './view.js';

function invalid(message: string): never {
  throw new RelationshipError('ERR_INVALID_ARGUMENT', message);
}

function requireName(args: ReplicationArgs): string {
  const name = args['vm-name']?.trim();
  if (!name) invalid('--vm-name is required');
  return name!;
}

/** The VMs a name selects on this host: a pattern may match none; an exact name must exist. */
async function resolveVms(host: HostAdapter, pattern: string): Promise<VmSummary[]> {
  if (isWildcard(pattern)) return selectVms(await host.listVms(), pattern);
  return [await host.getVm(pattern)];
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
  const host = openHostAdapter(args);
  const store = new RelationshipStore(args['state-dir']);
  const now = new Date();
  const out: Record<string, unknown>[] = [];
  for (const summary of await resolveVms(host, pattern)) {
    const vm = vmForReplication(await host.getVm(summary.id));
    const params = { ...commonParameters(args), ExcludedVhdPath: args['excluded-vhd-path'] } as Parameters<typeof enableRelationship>[1];
    // Parameter errors first, so a bad value is reported as such rather than as a missing certificate.
    validateEnableParameters(vm, params);
    const primaryServerName = await primaryIdentity(args['state-dir'], args['certificate-thumbprint']!);
    const rel = await store.update(vm.id, (existing) => {
      const next = enableRelationship(vm, params, { primaryServerName, now, ...(existing ? { existing } : {}) });
      return { next, result: next };
    });
    out.push(replicationView(rel, now));
  }
  return { data: out };
}

export async function set(args: ReplicationArgs): Promise<CommandResult> {
  const pattern = requireName(args);
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

/** Get/Measure selection: exact names must name a VM that replicates; patterns may match nothing. */
async function selectRelationships(args: ReplicationArgs): Promise<ReplicationRelationship[]> {
  const state = args['replication-state'];
  if (state !== undefined && !(REPLICATION_STATES as readonly string[]).includes(state)) invalid(`--replication-state must be one of ${REPLICATION_STATES.join(', ')}`);
  if (state === 'Disabled' || args['replication-mode'] === 'None') invalid('VMs without replication have no relationship to show; filter on another state or mode');
  const store = new RelationshipStore(args['state-dir']);
  let rels = await store.list();
  const pattern = args['vm-name']?.trim();
  if (pattern && !isWildcard(pattern)) {
    const vm = await openHostAdapter(args).getVm(pattern);
    rels = rels.filter((r) => r.VMId === vm.id);
    if (rels.length === 0) throw new RelationshipError('ERR_REPLICATION_NOT_ENABLED', `VM '${vm.name}' is not enabled for replication`);
  } else if (pattern) {
    rels = rels.filter((r) => nameMatches(pattern, r.VMName));
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

export async function get(args: ReplicationArgs): Promise<CommandResult> {
  const now = new Date();
  return { data: (await selectRelationships(args)).map((r) => replicationView(r, now)) };
}

export async function measure(args: ReplicationArgs): Promise<CommandResult> {
  const now = new Date();
  const server = await new ReplicaConfigStore(args['state-dir']).load();
  return {
    data: (await selectRelationships(args)).map((r) =>
      healthView({ ...r, Statistics: rollStatistics(r.Statistics, now, server.MonitoringInterval, server.MonitoringStartTime) }, now),
    ),
  };
}

async function actOnSelected(args: ReplicationArgs, change: (rel: ReplicationRelationship, now: Date) => ReplicationRelationship | undefined): Promise<CommandResult> {
  if (args['replication-relationship-type'] === 'Extended') {
    throw new RelationshipError('ERR_INVALID_STATE', 'the Extended relationship exists only on a replica that extends replication, which this host has not');
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

export function remove(args: ReplicationArgs): Promise<CommandResult> {
  return actOnSelected(args, () => undefined);
}

export function resetStatistics(args: ReplicationArgs): Promise<CommandResult> {
  return actOnSelected(args, (rel, now) => ({ ...rel, Statistics: emptyStatistics(now) }));
}

/** States a pause applies to; failover and resynchronisation states have their own commands. */
const SUSPENDABLE = new Set(['ReadyForInitialReplication', 'InitialReplicationInProgress', 'Replicating', 'Error']);

export function suspend(args: ReplicationArgs): Promise<CommandResult> {
  return actOnSelected(args, (rel) => {
    if (rel.ReplicationState === 'Suspended') return rel;
    if (!SUSPENDABLE.has(rel.ReplicationState)) throw new RelationshipError('ERR_INVALID_STATE', `replication of '${rel.VMName}' cannot be suspended in state ${rel.ReplicationState}`);
    return { ...rel, ReplicationState: 'Suspended' };
  });
}

export async function resume(args: ReplicationArgs): Promise<CommandResult> {
  if (args.resynchronize || args['resynchronize-start-time'] !== undefined) {
    throw new RelationshipError('ERR_NOT_SUPPORTED', 'resynchronization (--resynchronize) is not available yet; resume without it');
  }
  // Whether the initial copy was acknowledged decides where a resumed relationship continues.
  const acknowledged = new Map<string, boolean>();
  for (const rel of await new RelationshipStore(args['state-dir']).list()) {
    acknowledged.set(rel.VMId, (await loadPrimaryState(primaryStateFile(args['state-dir'], rel.VMId))) !== undefined);
  }
  return actOnSelected(args, (rel) => {
    if (rel.ReplicationState !== 'Suspended') return rel;
    return { ...rel, ReplicationState: acknowledged.get(rel.VMId) ? 'Replicating' : 'ReadyForInitialReplication' };
  });
}
