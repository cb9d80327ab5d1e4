/**
 * Replica server settings (Get-/Set-VMReplicationServer) as data, and Hyper-V's rules for changing
 * them, as a pure function. hvreplica always speaks TLS 1.3 with mutual certificates, so the only
 * authentication type it accepts is Certificate; Kerberos (plain HTTP in Hyper-V) is refused.
 */
import { ANY_SERVER, DEFAULT_TRUST_GROUP, normalizeStorageLocation, type AuthorizationEntry } from './authorization.js';
import { ReplicaError } from './errors.js';

export type AllowedAuthenticationType = 'Kerberos' | 'Certificate' | 'CertificateAndKerberos';
export const ALLOWED_AUTHENTICATION_TYPES: readonly AllowedAuthenticationType[] = ['Kerberos', 'Certificate', 'CertificateAndKerberos'];

/** What is persisted (`<state>/replica/server.json`). */
export interface ReplicaServerConfig {
  ReplicationEnabled: boolean;
  AllowedAuthenticationType: AllowedAuthenticationType | null;
  KerberosAuthenticationPort: number;
  CertificateAuthenticationPort: number;
  CertificateThumbprint: string | null;
  /** Seconds (TimeSpan in Hyper-V). */
  MonitoringInterval: number;
  /** Seconds since local midnight. */
  MonitoringStartTime: number;
  AuthorizationEntries: AuthorizationEntry[];
}

export const DEFAULT_SERVER_CONFIG: Readonly<ReplicaServerConfig> = Object.freeze({
  ReplicationEnabled: false,
  AllowedAuthenticationType: null,
  KerberosAuthenticationPort: 80,
  CertificateAuthenticationPort: 443,
  CertificateThumbprint: null,
  MonitoringInterval: 43200,
  MonitoringStartTime: 32400,
  AuthorizationEntries: [],
});

export interface ServerSettingsChanges {
  ReplicationEnabled?: boolean;
  AllowedAuthenticationType?: AllowedAuthenticationType;
  ReplicationAllowedFromAnyServer?: boolean;
  CertificateThumbprint?: string;
  DefaultStorageLocation?: string;
  KerberosAuthenticationPort?: number;
  CertificateAuthenticationPort?: number;
  KerberosAuthenticationPortMapping?: Record<string, number>;
  CertificateAuthenticationPortMapping?: Record<string, number>;
  MonitoringInterval?: number;
  MonitoringStartTime?: number;
  /** Delete specific entries when turning on replication from any server. */
  Force?: boolean;
}

function invalid(message: string): never {
  throw new ReplicaError('ERR_INVALID_ARGUMENT', message);
}

function checkPort(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) invalid(`${name} must be an integer from 1 to 65535, got ${value}`);
  return value;
}

/** Windows shows thumbprints as 40 hex digits (SHA-1 of the certificate); spaces and case vary. */
export function normalizeThumbprint(value: string): string {
  const hex = value.replace(/[\s:]/g, '').toUpperCase();
  if (!/^[0-9A-F]{40}$/.test(hex)) invalid(`CertificateThumbprint "${value}" must be 40 hexadecimal digits ("cert list" shows them)`);
  return hex;
}

export function applyServerChanges(current: ReplicaServerConfig, changes: ServerSettingsChanges): ReplicaServerConfig {
  const next: ReplicaServerConfig = { ...current, AuthorizationEntries: [...current.AuthorizationEntries] };
  if (changes.KerberosAuthenticationPortMapping !== undefined || changes.CertificateAuthenticationPortMapping !== undefined) {
    throw new ReplicaError('ERR_NOT_SUPPORTED', 'port mappings configure a Hyper-V Replica Broker cluster; hvreplica has no cluster broker, so set the port with --certificate-authentication-port');
  }
  const auth = changes.AllowedAuthenticationType;
  if (auth !== undefined) {
    if (!ALLOWED_AUTHENTICATION_TYPES.includes(auth)) invalid(`AllowedAuthenticationType must be one of ${ALLOWED_AUTHENTICATION_TYPES.join(', ')}`);
    if (auth !== 'Certificate') {
      throw new ReplicaError('ERR_NOT_SUPPORTED', `${auth} authentication is not available: hvreplica always uses TLS 1.3 with mutual certificates; use Certificate`);
    }
  }
  if (changes.KerberosAuthenticationPort !== undefined) next.KerberosAuthenticationPort = checkPort('KerberosAuthenticationPort', changes.KerberosAuthenticationPort);
  if (changes.CertificateAuthenticationPort !== undefined) next.CertificateAuthenticationPort = checkPort('CertificateAuthenticationPort', changes.CertificateAuthenticationPort);
  if (changes.MonitoringInterval !== undefined) {
    const v = changes.MonitoringInterval;
    if (!Number.isInteger(v) || v < 3600 || v > 604800) invalid(`MonitoringInterval must be from 3600 (1 hour) to 604800 seconds (7 days), got ${v}`);
    next.MonitoringInterval = v;
  }
  if (changes.MonitoringStartTime !== undefined) {
    const v = changes.MonitoringStartTime;
    if (!Number.isInteger(v) || v < 0 || v > 86399) invalid(`MonitoringStartTime is a time of day in seconds, 0 to 86399, got ${v}`);
    next.MonitoringStartTime = v;
  }
  if (changes.CertificateThumbprint !== undefined) next.CertificateThumbprint = normalizeThumbprint(changes.CertificateThumbprint);
  if (auth !== undefined) next.AllowedAuthenticationType = auth;

  if (changes.ReplicationEnabled === false) {
    if (auth !== undefined || changes.CertificateThumbprint !== undefined) invalid('AllowedAuthenticationType and CertificateThumbprint cannot be set while disabling replication');
    next.ReplicationEnabled = false;
    next.AllowedAuthenticationType = null;
    next.CertificateThumbprint = null;
  } else if (changes.ReplicationEnabled === true) {
    next.ReplicationEnabled = true;
  }
  if (next.ReplicationEnabled) {
    if (next.AllowedAuthenticationType === null) invalid('enabling replication needs --allowed-authentication-type Certificate');
    if (next.CertificateThumbprint === null) invalid('Certificate authentication needs --certificate-thumbprint of this host\'s certificate ("cert list" shows them)');
  }

  const anyIndex = next.AuthorizationEntries.findIndex((e) => e.AllowedPrimaryServer === ANY_SERVER);
  if (changes.ReplicationAllowedFromAnyServer === true) {
    const location = changes.DefaultStorageLocation ?? (anyIndex >= 0 ? next.AuthorizationEntries[anyIndex]!.ReplicaStorageLocation : undefined);
    if (location === undefined) invalid('replication from any server needs --default-storage-location');
    const specific = next.AuthorizationEntries.filter((e) => e.AllowedPrimaryServer !== ANY_SERVER);
    if (specific.length > 0 && !changes.Force) {
      throw new ReplicaError(
        'ERR_INVALID_STATE',
        `allowing replication from any server deletes the ${specific.length} specific authorization entr${specific.length === 1 ? 'y' : 'ies'}; repeat with --force to do so`,
      );
    }
    next.AuthorizationEntries = [{ AllowedPrimaryServer: ANY_SERVER, ReplicaStorageLocation: normalizeStorageLocation(location), TrustGroup: DEFAULT_TRUST_GROUP }];
  } else if (changes.ReplicationAllowedFromAnyServer === false) {
    if (changes.DefaultStorageLocation !== undefined) invalid('DefaultStorageLocation only applies when replication is allowed from any server');
    next.AuthorizationEntries = next.AuthorizationEntries.filter((e) => e.AllowedPrimaryServer !== ANY_SERVER);
  } else if (changes.DefaultStorageLocation !== undefined) {
    if (anyIndex < 0) invalid('DefaultStorageLocation only applies when replication is allowed from any server (--replication-allowed-from-any-server=true)');
    next.AuthorizationEntries[anyIndex] = { ...next.AuthorizationEntries[anyIndex]!, ReplicaStorageLocation: normalizeStorageLocation(changes.DefaultStorageLocation) };
  }
  return next;
}

/** Validates a config read from disk, so a hand-edited file fails clearly instead of half-working. */
export function parseServerConfig(value: unknown, source: string): ReplicaServerConfig {
  const bad = (what: string): never => {
    throw new ReplicaError('ERR_CORRUPT_STATE', `${source}: ${what}; fix the file or remove it to start with default settings`);
  };
  if (typeof value !== 'object' || value === null) bad('not an object');
  const v = { ...DEFAULT_SERVER_CONFIG, ...(value as Partial<ReplicaServerConfig>) };
  if (typeof v.ReplicationEnabled !== 'boolean') bad('ReplicationEnabled is not a boolean');
  if (v.AllowedAuthenticationType !== null && !ALLOWED_AUTHENTICATION_TYPES.includes(v.AllowedAuthenticationType)) bad('AllowedAuthenticationType is invalid');
  for (const port of [v.KerberosAuthenticationPort, v.CertificateAuthenticationPort]) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) bad('a port is out of range');
  }
  if (!Array.isArray(v.AuthorizationEntries)) bad('AuthorizationEntries is not a list');
  for (const e of v.AuthorizationEntries) {
    if (typeof e?.AllowedPrimaryServer !== 'string' || typeof e.ReplicaStorageLocation !== 'string' || typeof e.TrustGroup !== 'string') bad('an authorization entry is incomplete');
  }
  return v;
}
