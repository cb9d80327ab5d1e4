import { CliError } from '../../cli-error.js';
import { ExitCode } from '../../exit-codes.js';
import type { GlobalOptions } from '../../command-kit.js';
import type { CommandResult } from '../../output.js';
import { applyServerChanges, ReplicaConfigStore, type AllowedAuthenticationType, type ServerSettingsChanges } from '../../../replica/index.js';
import { FileCertificateStore } from '../../../security/index.js';
import type { ServerSetArgs } from './command.js';
import { readRuntime } from './runtime-file.js';
import { serverHuman, serverView } from './view.js';

export async function serverGet(args: GlobalOptions): Promise<CommandResult> {
  const config = await new ReplicaConfigStore(args['state-dir']).load();
  const view = serverView(config, await readRuntime(args['state-dir']));
  return { data: view, human: serverHuman(view) };
}

function portMapping(values: string[] | undefined): Record<string, number> | undefined {
  if (values === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const value of values) {
    const match = /^([^=]+)=(\d+)$/.exec(value);
    if (!match) throw new CliError('ERR_INVALID_ARGUMENT', `port mapping "${value}" must be FQDN=PORT`, ExitCode.Usage);
    out[match[1]!] = Number(match[2]);
  }
  return out;
}

export async function serverSet(args: ServerSetArgs): Promise<CommandResult> {
  const changes: ServerSettingsChanges = {
    ...(args['replication-enabled'] !== undefined ? { ReplicationEnabled: args['replication-enabled'] } : {}),
    ...(args['allowed-authentication-type'] !== undefined ? { AllowedAuthenticationType: args['allowed-authentication-type'] as AllowedAuthenticationType } : {}),
    ...(args['replication-allowed-from-any-server'] !== undefined ? { ReplicationAllowedFromAnyServer: args['replication-allowed-from-any-server'] } : {}),
    ...(args['certificate-thumbprint'] !== undefined ? { CertificateThumbprint: args['certificate-thumbprint'] } : {}),
    ...(args['default-storage-location'] !== undefined ? { DefaultStorageLocation: args['default-storage-location'] } : {}),
    ...(args['kerberos-authentication-port'] !== undefined ? { KerberosAuthenticationPort: args['kerberos-authentication-port'] } : {}),
    ...(args['certificate-authentication-port'] !== undefined ? { CertificateAuthenticationPort: args['certificate-authentication-port'] } : {}),
    ...(args['kerberos-authentication-port-mapping'] !== undefined ? { KerberosAuthenticationPortMapping: portMapping(args['kerberos-authentication-port-mapping'])! } : {}),
    ...(args['certificate-authentication-port-mapping'] !== undefined ? { CertificateAuthenticationPortMapping: portMapping(args['certificate-authentication-port-mapping'])! } : {}),
    ...(args['monitoring-interval'] !== undefined ? { MonitoringInterval: args['monitoring-interval'] } : {}),
    ...(args['monitoring-start-time'] !== undefined ? { MonitoringStartTime: args['monitoring-start-time'] } : {}),
    Force: args.force,
  };
  const store = new ReplicaConfigStore(args['state-dir']);
  const config = await store.update(async (current) => {
    const next = applyServerChanges(current, changes);
    // Hyper-V checks the certificate when it is configured, not when the first primary connects.
    if (next.ReplicationEnabled && next.CertificateThumbprint !== null && next.CertificateThumbprint !== current.CertificateThumbprint) {
      await new FileCertificateStore(args['state-dir']).credential(next.CertificateThumbprint);
    }
    return { config: next, result: next };
  });
  const view = serverView(config, await readRuntime(args['state-dir']));
  return { data: view, human: serverHuman(view) };
}
