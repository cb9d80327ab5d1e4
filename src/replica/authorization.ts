/**
 * Authorization entries (New-/Get-/Set-/Remove-VMReplicationAuthorizationEntry): which primary servers
 * may replicate here, where their replicas are stored and in which trust group. Pure functions over a
 * list; the store persists the result. Hyper-V's rules: the primary is an FQDN or a `*.`-prefixed FQDN
 * (wildcard only as the first label); `*` alone (any authenticated server) only when no other entry
 * exists, and no specific entry while `*` exists.
 */
import { isAbsolute, resolve } from 'node:path';
import { isFqdn, normalizeDnsName } from './dns-name.js';
import { ReplicaError } from './errors.js';

export interface AuthorizationEntry {
  AllowedPrimaryServer: string;
  ReplicaStorageLocation: string;
  TrustGroup: string;
}

export const ANY_SERVER = '*';
export const DEFAULT_TRUST_GROUP = 'DEFAULT';

export function normalizeAllowedPrimaryServer(value: string): string {
  const name = normalizeDnsName(value);
  if (name === ANY_SERVER) return name;
  const host = name.startsWith('*.') ? name.slice(2) : name;
  if (!isFqdn(host)) {
    throw new ReplicaError(
      'ERR_INVALID_ARGUMENT',
      `AllowedPrimaryServer "${value}" must be a fully qualified DNS name (primary.contoso.com), a wildcard domain (*.contoso.com) or *; IP addresses are not accepted`,
    );
  }
  return name;
}

export function normalizeStorageLocation(value: string): string {
  const text = value.trim();
  if (text.length === 0 || text.includes('\0')) throw new ReplicaError('ERR_INVALID_ARGUMENT', 'ReplicaStorageLocation must be a directory path');
  if (!isAbsolute(text)) {
    throw new ReplicaError('ERR_INVALID_ARGUMENT', `ReplicaStorageLocation "${value}" must be an absolute path (it is resolved on the replica server, not where the command runs)`);
  }
  return resolve(text);
}

export function normalizeTrustGroup(value: string): string {
  const text = value.trim();
  // Control characters would corrupt logs and the human table; the length bound keeps state files small.
  if (text.length === 0 || text.length > 256 || /[\p{Cc}]/u.test(text)) {
    throw new ReplicaError('ERR_INVALID_ARGUMENT', 'TrustGroup must be 1 to 256 printable characters');
  }
  return text;
}

export function makeEntry(allowedPrimaryServer: string, storageLocation: string, trustGroup: string): AuthorizationEntry {
  return {
    AllowedPrimaryServer: normalizeAllowedPrimaryServer(allowedPrimaryServer),
    ReplicaStorageLocation: normalizeStorageLocation(storageLocation),
    TrustGroup: normalizeTrustGroup(trustGroup),
  };
}

export function addEntry(entries: readonly AuthorizationEntry[], entry: AuthorizationEntry): AuthorizationEntry[] {
  const any = entries.find((e) => e.AllowedPrimaryServer === ANY_SERVER);
  if (entry.AllowedPrimaryServer === ANY_SERVER && entries.length > 0) {
    throw new ReplicaError(
      'ERR_INVALID_STATE',
      'the * entry (replication from any server) can only be added when no other authorization entry exists; remove them first or use "server set --replication-allowed-from-any-server=true --force"',
    );
  }
  if (any && entry.AllowedPrimaryServer !== ANY_SERVER) {
    throw new ReplicaError('ERR_INVALID_STATE', 'replication is allowed from any server (the * entry); remove it before adding specific servers');
  }
  if (entries.some((e) => e.AllowedPrimaryServer === entry.AllowedPrimaryServer)) {
    throw new ReplicaError('ERR_ALREADY_EXISTS', `an authorization entry for ${entry.AllowedPrimaryServer} already exists; use "auth set" to change it`);
  }
  return [...entries, entry];
}

export interface EntryChanges {
  ReplicaStorageLocation?: string;
  TrustGroup?: string;
}

export function setEntry(entries: readonly AuthorizationEntry[], allowedPrimaryServer: string, changes: EntryChanges): AuthorizationEntry[] {
  const key = normalizeAllowedPrimaryServer(allowedPrimaryServer);
  const index = entries.findIndex((e) => e.AllowedPrimaryServer === key);
  if (index < 0) throw new ReplicaError('ERR_NOT_FOUND', `no authorization entry for ${key}; "auth list" shows the entries`);
  if (changes.ReplicaStorageLocation === undefined && changes.TrustGroup === undefined) {
    throw new ReplicaError('ERR_INVALID_ARGUMENT', 'nothing to change: give --replica-storage-location or --trust-group');
  }
  const next = [...entries];
  next[index] = {
    ...entries[index]!,
    ...(changes.ReplicaStorageLocation !== undefined ? { ReplicaStorageLocation: normalizeStorageLocation(changes.ReplicaStorageLocation) } : {}),
    ...(changes.TrustGroup !== undefined ? { TrustGroup: normalizeTrustGroup(changes.TrustGroup) } : {}),
  };
  return next;
}

export type EntrySelector = { AllowedPrimaryServer: string } | { TrustGroup: string };

export function removeEntries(entries: readonly AuthorizationEntry[], selector: EntrySelector): { kept: AuthorizationEntry[]; removed: AuthorizationEntry[] } {
  const matches =
    'AllowedPrimaryServer' in selector
      ? ((key: string) => (e: AuthorizationEntry) => e.AllowedPrimaryServer === key)(normalizeAllowedPrimaryServer(selector.AllowedPrimaryServer))
      : (e: AuthorizationEntry) => e.TrustGroup.toLowerCase() === selector.TrustGroup.trim().toLowerCase();
  const removed = entries.filter(matches);
  if (removed.length === 0) throw new ReplicaError('ERR_NOT_FOUND', 'no authorization entry matches; "auth list" shows the entries');
  return { kept: entries.filter((e) => !matches(e)), removed };
}

export interface EntryFilter {
  AllowedPrimaryServer?: string;
  ReplicaStorageLocation?: string;
  TrustGroup?: string;
}

export function filterEntries(entries: readonly AuthorizationEntry[], filter: EntryFilter): AuthorizationEntry[] {
  return entries.filter(
    (e) =>
      (filter.AllowedPrimaryServer === undefined || e.AllowedPrimaryServer === normalizeDnsName(filter.AllowedPrimaryServer)) &&
      (filter.ReplicaStorageLocation === undefined || e.ReplicaStorageLocation === resolve(filter.ReplicaStorageLocation)) &&
      (filter.TrustGroup === undefined || e.TrustGroup.toLowerCase() === filter.TrustGroup.toLowerCase()),
  );
}

/** Whether a pattern admits a primary's DNS name: exact, `*`, or `*.domain` for any name under domain. */
export function patternMatches(pattern: string, dnsName: string): boolean {
  const name = normalizeDnsName(dnsName);
  if (pattern === ANY_SERVER) return true;
  if (pattern.startsWith('*.')) return name.endsWith(pattern.slice(1)) && name.length > pattern.length - 1;
  return name === pattern;
}

/**
 * The entry that authorizes a primary known by these certificate names: the first entry, in the
 * order they were added, that matches any of the names.
 */
export function findAuthorization(entries: readonly AuthorizationEntry[], names: readonly string[]): AuthorizationEntry | undefined {
  return entries.find((entry) => names.some((name) => patternMatches(entry.AllowedPrimaryServer, name)));
}
