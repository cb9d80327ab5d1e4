import { CliError } from '../../cli-error.js';
import { ExitCode } from '../../exit-codes.js';
import type { CommandResult } from '../../output.js';
import { addEntry, filterEntries, makeEntry, removeEntries, ReplicaConfigStore, setEntry, type AuthorizationEntry } from '../../../replica/index.js';
import { entryView } from '../server/view.js';
import type { AuthArgs } from './command.js';

export async function authAdd(args: AuthArgs): Promise<CommandResult> {
  const entry = makeEntry(args['allowed-primary-server']!, args['replica-storage-location']!, args['trust-group']!);
  await new ReplicaConfigStore(args['state-dir']).update((config) => ({
    config: { ...config, AuthorizationEntries: addEntry(config.AuthorizationEntries, entry) },
    result: undefined,
  }));
  return { data: entryView(entry) };
}

export async function authList(args: AuthArgs): Promise<CommandResult> {
  const config = await new ReplicaConfigStore(args['state-dir']).load();
  const entries = filterEntries(config.AuthorizationEntries, {
    ...(args['allowed-primary-server'] !== undefined ? { AllowedPrimaryServer: args['allowed-primary-server'] } : {}),
    ...(args['replica-storage-location'] !== undefined ? { ReplicaStorageLocation: args['replica-storage-location'] } : {}),
    ...(args['trust-group'] !== undefined ? { TrustGroup: args['trust-group'] } : {}),
  });
  return { data: entries.map(entryView) };
}

export async function authSet(args: AuthArgs): Promise<CommandResult> {
  const key = args['allowed-primary-server']!;
  const entry = await new ReplicaConfigStore(args['state-dir']).update((config) => {
    const entries = setEntry(config.AuthorizationEntries, key, {
      ...(args['replica-storage-location'] !== undefined ? { ReplicaStorageLocation: args['replica-storage-location'] } : {}),
      ...(args['trust-group'] !== undefined ? { TrustGroup: args['trust-group'] } : {}),
    });
    const changed = filterEntries(entries, { AllowedPrimaryServer: key })[0] as AuthorizationEntry;
    return { config: { ...config, AuthorizationEntries: entries }, result: changed };
  });
  return { data: entryView(entry) };
}

export async function authRemove(args: AuthArgs): Promise<CommandResult> {
  const byServer = args['allowed-primary-server'];
  const byGroup = args['trust-group'];
  if ((byServer === undefined) === (byGroup === undefined)) {
    throw new CliError('ERR_INVALID_ARGUMENT', 'give exactly one of --allowed-primary-server and --trust-group', ExitCode.Usage);
  }
  const removed = await new ReplicaConfigStore(args['state-dir']).update((config) => {
    const { kept, removed: gone } = removeEntries(config.AuthorizationEntries, byServer !== undefined ? { AllowedPrimaryServer: byServer } : { TrustGroup: byGroup! });
    return { config: { ...config, AuthorizationEntries: kept }, result: gone };
  });
  return { data: removed.map(entryView) };
}
