/**
 * Enable-VMReplication and Set-VMReplication as pure functions: Hyper-V's parameter rules
 * (hyperv-replica.md §2.1, §2.2) applied to a VM and a relationship, returning the new relationship or
 * throwing a RelationshipError that says which rule was broken.
 */
import { randomBytes } from 'node:crypto';
import { isDnsName } from '../replica/dns-name.js';
import { normalizeThumbprint } from '../replica/server-settings.js';
import { RelationshipError } from './errors.js';
import { emptyStatistics } from './statistics.js';
import { REPLICATION_FREQUENCIES, type AuthenticationType, type DiskRef, type ReplicationRelationship } from './types.js';

/** What validation needs to know about the VM (from the host adapter). */
export interface VmForReplication {
  id: string;
  name: string;
  isReplica: boolean;
  disks: DiskRef[];
}

export interface CommonParameters {
  ReplicaServerName?: string;
  ReplicaServerPort?: number;
  AuthenticationType?: AuthenticationType;
  CertificateThumbprint?: string;
  CompressionEnabled?: boolean;
  ReplicateHostKvpItems?: boolean;
  BypassProxyServer?: boolean;
  VSSSnapshotFrequencyHour?: number;
  RecoveryHistory?: number;
  ReplicationFrequencySec?: number;
  AutoResynchronizeEnabled?: boolean;
  AutoResynchronizeIntervalStart?: number;
  AutoResynchronizeIntervalEnd?: number;
}

export interface EnableParameters extends CommonParameters {
  ReplicaServerName: string;
  ReplicaServerPort: number;
  AuthenticationType: AuthenticationType;
  ExcludedVhdPath?: string[];
}

export interface SetParameters extends CommonParameters {
  InitialReplicationStartTime?: Date;
  DisableVSSSnapshotReplication?: boolean;
  ReplicatedDiskPaths?: string[];
  UseBackup?: boolean;
  Reverse?: boolean;
  AsReplica?: boolean;
  AllowedPrimaryServer?: string;
}

const invalid = (message: string): never => {
  throw new RelationshipError('ERR_INVALID_ARGUMENT', message);
};

function checkRange(name: string, value: number | undefined, min: number, max: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) invalid(`${name} must be an integer from ${min} to ${max}, got ${value}`);
}

function checkCommon(p: CommonParameters): void {
  if (p.ReplicaServerName !== undefined && !isDnsName(p.ReplicaServerName.trim())) {
    invalid(`ReplicaServerName "${p.ReplicaServerName}" must be a DNS host name; IP addresses are not accepted`);
  }
  checkRange('ReplicaServerPort', p.ReplicaServerPort, 1, 65535);
  checkRange('RecoveryHistory', p.RecoveryHistory, 0, 24);
  checkRange('VSSSnapshotFrequencyHour', p.VSSSnapshotFrequencyHour, 1, 12);
  checkRange('AutoResynchronizeIntervalStart', p.AutoResynchronizeIntervalStart, 0, 86399);
  checkRange('AutoResynchronizeIntervalEnd', p.AutoResynchronizeIntervalEnd, 0, 86399);
  if (p.ReplicationFrequencySec !== undefined && !(REPLICATION_FREQUENCIES as readonly number[]).includes(p.ReplicationFrequencySec)) {
    invalid(`ReplicationFrequencySec must be 30, 300 or 900, got ${p.ReplicationFrequencySec}`);
  }
}

/** Thumbprint iff Certificate; Kerberos is not available (hvreplica is always TLS with certificates). */
function authentication(type: AuthenticationType, thumbprint: string | undefined): string {
  if (type === 'Kerberos') {
    if (thumbprint !== undefined) invalid('CertificateThumbprint cannot be given with Kerberos authentication');
    throw new RelationshipError('ERR_NOT_SUPPORTED', 'Kerberos authentication is not available: hvreplica always uses TLS 1.3 with mutual certificates; use Certificate');
  }
  if (type !== 'Certificate') invalid(`AuthenticationType must be Kerberos or Certificate, got ${String(type)}`);
  if (thumbprint === undefined) invalid('Certificate authentication needs --certificate-thumbprint ("cert list" shows them)');
  return normalizeThumbprint(thumbprint!);
}

function samePath(a: string, b: string): boolean {
  // Hyper-V compares trimmed full paths exactly; Windows paths are case-insensitive.
  return process.platform === 'win32' ? a.trim().toLowerCase() === b.trim().toLowerCase() : a.trim() === b.trim();
}

function splitDisks(vm: VmForReplication, paths: string[], mode: 'exclude' | 'include'): { replicated: DiskRef[]; excluded: DiskRef[] } {
  for (const path of paths) {
    if (!vm.disks.some((d) => samePath(d.Path, path))) invalid(`"${path}" is not a disk attached to VM '${vm.name}'`);
  }
  const listed = (d: DiskRef) => paths.some((p) => samePath(d.Path, p));
  const replicated = vm.disks.filter((d) => (mode === 'exclude' ? !listed(d) : listed(d)));
  if (replicated.length === 0) invalid(`VM '${vm.name}' would have no replicated disk; replicate at least one`);
  return { replicated, excluded: vm.disks.filter((d) => !replicated.includes(d)) };
}

export interface EnableContext {
  primaryServerName: string;
  existing?: ReplicationRelationship;
  now: Date;
}

/** Enable-VMReplication's parameter rules alone (no state): what can be checked before any I/O. */
export function validateEnableParameters(vm: VmForReplication, p: EnableParameters): { thumbprint: string; replicated: DiskRef[]; excluded: DiskRef[] } {
  checkCommon(p);
  const thumbprint = authentication(p.AuthenticationType, p.CertificateThumbprint);
  if (p.VSSSnapshotFrequencyHour !== undefined && !((p.RecoveryHistory ?? 0) > 0)) {
    invalid('VSSSnapshotFrequencyHour needs RecoveryHistory greater than 0');
  }
  return { thumbprint, ...splitDisks(vm, p.ExcludedVhdPath ?? [], 'exclude') };
}

export function enableRelationship(vm: VmForReplication, p: EnableParameters, context: EnableContext): ReplicationRelationship {
  if (context.existing && context.existing.ReplicationState !== 'Disabled') {
    throw new RelationshipError('ERR_ALREADY_EXISTS', `VM '${vm.name}' is already enabled for replication`);
  }
  if (vm.isReplica) {
    // A replica the replica server holds takes the extended path before this (validateExtendedEnable); a VM
    // of this host that is a replica is a failed-over replica or a test VM, which Hyper-V refuses too.
    throw new RelationshipError(
      'ERR_INVALID_STATE',
      `VM '${vm.name}' is a failed-over replica or a test VM on this host: a test VM is never replicated, and a failed-over replica goes on with "replication set --reverse" (back to its primary) or "replication resume --continue" (to its extended replica)`,
    );
  }
  const { thumbprint, replicated, excluded } = validateEnableParameters(vm, p);
  const server = p.ReplicaServerName.trim().toLowerCase();
  return {
    VMName: vm.name,
    VMId: vm.id,
    // A new relationship, new id: what a replica server that removed an earlier one tells them apart by.
    RelationshipId: randomBytes(16).toString('hex'),
    ReplicationMode: 'Primary',
    ReplicationRelationshipType: 'Simple',
    ReplicationState: 'ReadyForInitialReplication',
    PrimaryServerName: context.primaryServerName,
    ReplicaServerName: server,
    CurrentReplicaServerName: server,
    ReplicaServerPort: p.ReplicaServerPort,
    AuthenticationType: 'Certificate',
    CertificateThumbprint: thumbprint,
    CompressionEnabled: p.CompressionEnabled ?? true,
    BypassProxyServer: p.BypassProxyServer ?? false,
    ReplicateHostKvpItems: p.ReplicateHostKvpItems ?? true,
    ReplicationFrequencySec: p.ReplicationFrequencySec ?? 300,
    RecoveryHistory: p.RecoveryHistory ?? 0,
    VSSSnapshotFrequencyHour: p.VSSSnapshotFrequencyHour ?? 0,
    ReplicatedDisks: replicated,
    ExcludedDisks: excluded,
    AutoResynchronizeEnabled: p.AutoResynchronizeEnabled ?? false,
    AutoResynchronizeIntervalStart: p.AutoResynchronizeIntervalStart ?? 66600,
    AutoResynchronizeIntervalEnd: p.AutoResynchronizeIntervalEnd ?? 21600,
    InitialReplicationStartTime: null,
    ResynchronizeStartTime: null,
    LastReplicationTime: null,
    LastAppliedLogTime: null,
    LastReplicationType: 'None',
    FailedOverReplicationType: 'None',
    LastVSSSnapshotTime: null,
    LastTestFailoverInitiatedTime: null,
    AllowedPrimaryServer: null,
    PendingReplicationSize: 0,
    InitialReplicationSize: 0,
    Statistics: emptyStatistics(context.now),
  };
}

const SEVEN_DAYS_MS = 7 * 86_400_000;

export function setRelationship(vm: VmForReplication, current: ReplicationRelationship, p: SetParameters, now: Date): ReplicationRelationship {
  const given = Object.entries(p).filter(([, v]) => v !== undefined).map(([k]) => k);
  if (given.length === 0) invalid('no settings changed: give at least one setting');
  if (p.Reverse !== undefined || p.AsReplica !== undefined || p.AllowedPrimaryServer !== undefined) {
    // They change the direction after a failover: `replication set` runs them through src/failover/network.ts.
    if (p.Reverse && p.ReplicatedDiskPaths !== undefined) invalid('-Reverse cannot be combined with -ReplicatedDiskPaths');
    if (p.AsReplica && given.some((k) => k !== 'AsReplica' && k !== 'AllowedPrimaryServer')) invalid('-AsReplica cannot be combined with any other setting except -AllowedPrimaryServer');
    throw new RelationshipError('ERR_INVALID_STATE', '-Reverse and -AsReplica change the replication direction after a failover; run them through "hvreplica replication set", which hands them to the failover steps');
  }
  if (current.ReplicationMode !== 'Primary') {
    throw new RelationshipError('ERR_INVALID_STATE', `cannot modify replication settings on the replica of VM '${vm.name}'; change them on the primary`);
  }
  checkCommon(p);
  if (p.UseBackup && p.InitialReplicationStartTime === undefined) invalid('UseBackup needs InitialReplicationStartTime');
  const next: ReplicationRelationship = { ...current, Statistics: { ...current.Statistics } };
  if (p.ReplicaServerName !== undefined) next.ReplicaServerName = next.CurrentReplicaServerName = p.ReplicaServerName.trim().toLowerCase();
  if (p.ReplicaServerPort !== undefined) next.ReplicaServerPort = p.ReplicaServerPort;
  if (p.AuthenticationType !== undefined || p.CertificateThumbprint !== undefined) {
    next.CertificateThumbprint = authentication(p.AuthenticationType ?? current.AuthenticationType, p.CertificateThumbprint ?? current.CertificateThumbprint ?? undefined);
  }
  if (p.CompressionEnabled !== undefined) next.CompressionEnabled = p.CompressionEnabled;
  if (p.ReplicateHostKvpItems !== undefined) next.ReplicateHostKvpItems = p.ReplicateHostKvpItems;
  if (p.BypassProxyServer !== undefined) next.BypassProxyServer = p.BypassProxyServer;
  if (p.ReplicationFrequencySec !== undefined) next.ReplicationFrequencySec = p.ReplicationFrequencySec;
  if (p.AutoResynchronizeEnabled !== undefined) next.AutoResynchronizeEnabled = p.AutoResynchronizeEnabled;
  if (p.AutoResynchronizeIntervalStart !== undefined) next.AutoResynchronizeIntervalStart = p.AutoResynchronizeIntervalStart;
  if (p.AutoResynchronizeIntervalEnd !== undefined) next.AutoResynchronizeIntervalEnd = p.AutoResynchronizeIntervalEnd;

  if (p.DisableVSSSnapshotReplication && p.VSSSnapshotFrequencyHour !== undefined) invalid('VSSSnapshotFrequencyHour cannot be combined with DisableVSSSnapshotReplication');
  if (p.RecoveryHistory !== undefined) {
    const wasOff = next.RecoveryHistory === 0;
    next.RecoveryHistory = p.RecoveryHistory;
    if (p.RecoveryHistory === 0) next.VSSSnapshotFrequencyHour = 0;
    // Hyper-V picks 4 h when history is turned on for a relationship that has not replicated yet.
    else if (wasOff && p.VSSSnapshotFrequencyHour === undefined && !p.DisableVSSSnapshotReplication && current.ReplicationState === 'ReadyForInitialReplication') {
      next.VSSSnapshotFrequencyHour = 4;
    }
  }
  if (p.VSSSnapshotFrequencyHour !== undefined) {
    if (next.RecoveryHistory === 0) invalid('VSSSnapshotFrequencyHour needs RecoveryHistory greater than 0');
    next.VSSSnapshotFrequencyHour = p.VSSSnapshotFrequencyHour;
  }
  if (p.DisableVSSSnapshotReplication) next.VSSSnapshotFrequencyHour = 0;

  if (p.ReplicatedDiskPaths !== undefined) {
    const { replicated, excluded } = splitDisks(vm, p.ReplicatedDiskPaths, 'include');
    next.ReplicatedDisks = replicated;
    next.ExcludedDisks = excluded;
  }
  if (p.InitialReplicationStartTime !== undefined) {
    const at = p.InitialReplicationStartTime.getTime();
    if (Number.isNaN(at) || at <= now.getTime() || at > now.getTime() + SEVEN_DAYS_MS) {
      invalid('InitialReplicationStartTime must be in the future and at most 7 days ahead');
    }
    if (current.ReplicationState !== 'ReadyForInitialReplication') {
      throw new RelationshipError('ERR_INVALID_STATE', `the initial replication of VM '${vm.name}' can only be scheduled before it starts (state is ${current.ReplicationState})`);
    }
    next.InitialReplicationStartTime = new Date(at).toISOString();
    // Set-VMReplication -UseBackup: the scheduled start seeds from the copy registered on the replica.
    next.InitialReplicationUseBackup = p.UseBackup === true;
  }
  return next;
}

/** Extended replication (hyperv-replica.md §5.7): what the replica VM is on this host when it is extended. */
export interface ExtendedSource {
  vmName: string;
  /** Its mode and state on this host (a Replica, Replicating). */
  mode: string;
  state: string;
  /** The primary → replica frequency: the extended one may not be more frequent. */
  replicationFrequencySec: number;
}

export const EXTENDED_REPLICATION_FREQUENCIES = [300, 900] as const;

/**
 * Enable-VMReplication run on the replica server for a replica VM: Hyper-V's extended replication rules.
 * Only from a replica that replicates (A→B→C, never A→B and A→C), 300 or 900 s and not more frequent than
 * A→B, the same disks as B (no VHD selection) and no application-consistent points. Returns the frequency
 * (default: 300, or A→B's when that is 900) and the certificate thumbprint.
 */
export function validateExtendedEnable(source: ExtendedSource, p: EnableParameters): { frequency: number; thumbprint: string } {
  if (source.mode !== 'Replica') {
    throw new RelationshipError('ERR_INVALID_STATE', `extended replication starts from a replica; VM '${source.vmName}' is a ${source.mode} here (A→B→C only, never A→B and A→C)`);
  }
  if (source.state !== 'Replicating') {
    throw new RelationshipError(
      'ERR_INVALID_STATE',
      `VM '${source.vmName}' is ${source.state} on this replica; extend its replication once it is Replicating (the initial replication from its primary has to complete first)`,
    );
  }
  checkCommon(p);
  if (p.ExcludedVhdPath !== undefined && p.ExcludedVhdPath.length > 0) {
    invalid('extended replication replicates the same disks as the replica; --excluded-vhd-path is not accepted');
  }
  if (p.VSSSnapshotFrequencyHour !== undefined && p.VSSSnapshotFrequencyHour > 0) {
    invalid('extended replication keeps no application-consistent recovery points; --vss-snapshot-frequency-hour is not accepted');
  }
  const frequency = p.ReplicationFrequencySec ?? Math.max(300, source.replicationFrequencySec);
  if (!(EXTENDED_REPLICATION_FREQUENCIES as readonly number[]).includes(frequency)) {
    invalid(`extended replication runs every 300 or 900 seconds, got ${frequency}`);
  }
  if (frequency < source.replicationFrequencySec) {
    invalid(`the extended replication frequency (${frequency} s) cannot be more frequent than the primary's (${source.replicationFrequencySec} s); use ${source.replicationFrequencySec >= 900 ? 900 : '300 or 900'}`);
  }
  return { frequency, thumbprint: authentication(p.AuthenticationType, p.CertificateThumbprint) };
}
