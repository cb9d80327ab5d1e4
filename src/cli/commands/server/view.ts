/** The VMReplicationServer object of the CLI contract (docs/cli-contract.md §2.3). */
import { hostname } from 'node:os';
import { ANY_SERVER, type AuthorizationEntry, type ReplicaServerConfig } from '../../../replica/index.js';
import type { ServerRuntime } from './runtime-file.js';

export interface AuthorizationEntryView extends AuthorizationEntry {
  ComputerName: string;
}

export function entryView(entry: AuthorizationEntry): AuthorizationEntryView {
  return { ...entry, ComputerName: hostname() };
}

export function serverView(config: ReplicaServerConfig, runtime: ServerRuntime | undefined): Record<string, unknown> {
  const any = config.AuthorizationEntries.find((e) => e.AllowedPrimaryServer === ANY_SERVER);
  const running = runtime !== undefined;
  return {
    ComputerName: hostname(),
    ReplicationEnabled: config.ReplicationEnabled,
    AllowedAuthenticationType: config.ReplicationEnabled ? config.AllowedAuthenticationType : null,
    ReplicationAllowedFromAnyServer: any !== undefined,
    DefaultStorageLocation: any?.ReplicaStorageLocation ?? null,
    KerberosAuthenticationPort: config.KerberosAuthenticationPort,
    CertificateAuthenticationPort: config.CertificateAuthenticationPort,
    KerberosAuthenticationPortMapping: null,
    CertificateAuthenticationPortMapping: null,
    CertificateThumbprint: config.CertificateThumbprint,
    MonitoringInterval: config.MonitoringInterval,
    MonitoringStartTime: config.MonitoringStartTime,
    AuthorizationEntries: config.AuthorizationEntries.map(entryView),
    OperationalStatus: !config.ReplicationEnabled || running ? ['Ok'] : ['Stopped'],
    StatusDescriptions: !config.ReplicationEnabled
      ? ['Replication is not enabled on this server']
      : running
        ? [`The replica server is running (process ${runtime.pid}, port ${runtime.port})`]
        : ['Replication is enabled but the replica server is not running; start it with "hvreplica server run" or its service'],
  };
}

/** The text a person sees: the settings, then the entries as Get-VMReplicationAuthorizationEntry shows them. */
export function serverHuman(view: Record<string, unknown>): string {
  const entries = view.AuthorizationEntries as AuthorizationEntryView[];
  const settings = Object.entries(view).filter(([key]) => key !== 'AuthorizationEntries');
  const width = Math.max(...settings.map(([key]) => key.length));
  const lines = settings.map(([key, value]) => `${key.padEnd(width)} : ${Array.isArray(value) ? value.join(', ') : String(value)}`);
  lines.push('', entries.length === 0 ? 'No authorization entries.' : 'AllowedPrimaryServer  ReplicaStorageLocation  TrustGroup');
  for (const e of entries) lines.push(`${e.AllowedPrimaryServer}  ${e.ReplicaStorageLocation}  ${e.TrustGroup}`);
  return lines.join('\n');
}
