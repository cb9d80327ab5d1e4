import type { Argv, CommandModule } from 'yargs';
import { action, type GlobalOptions } from '../../command-kit.js';

export interface ServerSetArgs extends GlobalOptions {
  'replication-enabled'?: boolean;
  'allowed-authentication-type'?: string;
  'replication-allowed-from-any-server'?: boolean;
  'certificate-thumbprint'?: string;
  'default-storage-location'?: string;
  'kerberos-authentication-port'?: number;
  'certificate-authentication-port'?: number;
  'kerberos-authentication-port-mapping'?: string[];
  'certificate-authentication-port-mapping'?: string[];
  'monitoring-interval'?: number;
  'monitoring-start-time'?: number;
  force: boolean;
}

/**
 * The largest log a replica server takes unless told otherwise. A full copy (the initial replication) is
 * one log per disk, so anything below a whole disk makes large disks impossible to replicate: this is the
 * VHDX maximum of 64 TiB plus 1 TiB, more than the log's own framing of that much data (a record header per
 * 4 MiB). Administrators who want a lower bound set --max-log-bytes.
 */
export const DEFAULT_MAX_LOG_BYTES = 65 * 1024 ** 4;

export interface ServerRunArgs extends GlobalOptions {
  'listen-address'?: string;
  'max-log-bytes': number;
  'recovery-point-interval-sec': number;
}

function setOptions(yargs: Argv<GlobalOptions>): Argv<ServerSetArgs> {
  return yargs
    .option('replication-enabled', { type: 'boolean', describe: 'Let this host receive replication' })
    .option('allowed-authentication-type', { type: 'string', choices: ['Kerberos', 'Certificate', 'CertificateAndKerberos'], describe: 'Only Certificate is available' })
    .option('replication-allowed-from-any-server', { type: 'boolean', describe: 'Accept any authenticated primary (the * entry)' })
    .option('certificate-thumbprint', { type: 'string', describe: 'This host\'s certificate ("cert list")' })
    .option('default-storage-location', { type: 'string', describe: 'Storage for primaries admitted by the * entry' })
    .option('kerberos-authentication-port', { type: 'number', describe: 'Kept for Hyper-V compatibility; unused' })
    .option('certificate-authentication-port', { type: 'number', describe: 'Port of the HTTPS listener (default 443)' })
    .option('kerberos-authentication-port-mapping', { type: 'string', array: true, describe: 'FQDN=PORT (clusters only; not supported)' })
    .option('certificate-authentication-port-mapping', { type: 'string', array: true, describe: 'FQDN=PORT (clusters only; not supported)' })
    .option('monitoring-interval', { type: 'number', describe: 'Statistics interval in seconds (3600-604800)' })
    .option('monitoring-start-time', { type: 'number', describe: 'Start of the statistics interval, seconds after midnight' })
    .option('force', { type: 'boolean', default: false, describe: 'Delete specific entries when allowing any server' }) as unknown as Argv<ServerSetArgs>;
}

export const serverCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'server <action>',
  describe: 'This host as a replica server: settings (Get-/Set-VMReplicationServer) and the listener',
  builder: (yargs) =>
    yargs
      .command({
        command: 'get',
        describe: 'Show the replica server settings and authorization entries',
        handler: action('server get', async (args: GlobalOptions) => (await import('./impl.js')).serverGet(args)),
      })
      .command({
        command: 'set',
        describe: 'Change replica server settings',
        builder: setOptions,
        handler: action('server set', async (args: ServerSetArgs) => (await import('./impl.js')).serverSet(args), { logToFile: true }),
      })
      .command({
        command: 'run',
        describe: 'Run the replica server (HTTPS, TLS 1.3, mutual certificates) until stopped',
        builder: (y: Argv<GlobalOptions>) =>
          y
            .option('listen-address', { type: 'string', describe: 'Address to listen on (default: all)' })
            .option('max-log-bytes', {
              type: 'number',
              default: DEFAULT_MAX_LOG_BYTES,
              describe: 'Largest log accepted, in bytes; the default (65 TiB) takes a full copy of any disk (one log per disk, up to the VHDX maximum of 64 TiB). A lower value refuses larger logs, including the initial replication of disks with more data than that',
            })
            .option('recovery-point-interval-sec', { type: 'number', default: 3600, describe: 'Age of the newest recovery point at which the next one is sealed (Hyper-V: one hour)' }) as unknown as Argv<ServerRunArgs>,
        handler: action('server run', async (args: ServerRunArgs) => (await import('./run.js')).serverRun(args), { logToFile: true }),
      })
      .demandCommand(1),
  handler: () => undefined,
};
