import type { Argv, CommandModule } from 'yargs';
import { action, type GlobalOptions } from '../../command-kit.js';
import { withVmRoot, type VmRootOptions } from '../vm/host.js';

export interface ReplicationArgs extends VmRootOptions {
  'vm-name'?: string;
  'replica-server-name'?: string;
  'replica-server-port'?: number;
  'authentication-type'?: string;
  'certificate-thumbprint'?: string;
  'compression-enabled'?: boolean;
  'replicate-host-kvp-items'?: boolean;
  'bypass-proxy-server'?: boolean;
  'vss-snapshot-frequency-hour'?: number;
  'recovery-history'?: number;
  'replication-frequency-sec'?: number;
  'excluded-vhd-path'?: string[];
  'replicated-disk-paths'?: string[];
  'auto-resynchronize-enabled'?: boolean;
  'auto-resynchronize-interval-start'?: number;
  'auto-resynchronize-interval-end'?: number;
  'initial-replication-start-time'?: string;
  'disable-vss-snapshot-replication'?: boolean;
  'use-backup'?: boolean;
  reverse?: boolean;
  'as-replica'?: boolean;
  'allowed-primary-server'?: string;
  'primary-server-name'?: string;
  'replication-state'?: string;
  'replication-health'?: string;
  'replication-mode'?: string;
  'replication-relationship-type'?: string;
  'trust-group'?: string;
  resynchronize?: boolean;
  'resynchronize-start-time'?: string;
  continue?: boolean;
}

const vmName = (y: Argv<GlobalOptions>, required: boolean) => withVmRoot(y).option('vm-name', { type: 'string', demandOption: required, describe: 'VM name, or a pattern with * and ?' });

const settings = (y: Argv<GlobalOptions>) =>
  y
    .option('replica-server-name', { type: 'string', describe: 'DNS name of the replica server' })
    .option('replica-server-port', { type: 'number', describe: 'Its certificate authentication port' })
    .option('authentication-type', { type: 'string', choices: ['Kerberos', 'Certificate'] })
    .option('certificate-thumbprint', { type: 'string', describe: 'This host\'s certificate ("cert list")' })
    .option('compression-enabled', { type: 'boolean' })
    .option('replicate-host-kvp-items', { type: 'boolean' })
    .option('bypass-proxy-server', { type: 'boolean' })
    .option('vss-snapshot-frequency-hour', { type: 'number', describe: '1-12; needs --recovery-history > 0' })
    .option('recovery-history', { type: 'number', describe: '0-24 additional recovery points' })
    .option('replication-frequency-sec', { type: 'number', describe: '30, 300 or 900' })
    .option('auto-resynchronize-enabled', { type: 'boolean' })
    .option('auto-resynchronize-interval-start', { type: 'number', describe: 'Seconds after midnight' })
    .option('auto-resynchronize-interval-end', { type: 'number', describe: 'Seconds after midnight' })
    .option('as-replica', { type: 'boolean' })
    .option('allowed-primary-server', { type: 'string' });

const filters = (y: Argv<GlobalOptions>) =>
  vmName(y, false)
    .option('replica-server-name', { type: 'string' })
    .option('primary-server-name', { type: 'string' })
    .option('replication-state', { type: 'string' })
    .option('replication-health', { type: 'string', choices: ['NotApplicable', 'Normal', 'Warning', 'Critical'] })
    .option('replication-mode', { type: 'string', choices: ['None', 'Primary', 'Replica', 'TestReplica', 'ExtendedReplica'] })
    .option('replication-relationship-type', { type: 'string', choices: ['Simple', 'Extended'] })
    .option('trust-group', { type: 'string' });

const relationshipType = (y: Argv<GlobalOptions>) => vmName(y, true).option('replication-relationship-type', { type: 'string', choices: ['Simple', 'Extended'] });

const run = (name: string, fn: 'enable' | 'set' | 'get' | 'measure' | 'remove' | 'resetStatistics' | 'suspend', logToFile: boolean) =>
  action(`replication ${name}`, async (args: ReplicationArgs) => (await import('./impl.js'))[fn](args), { logToFile });

/** `resume` that resynchronizes (now or at a start time): --resynchronize or its start time, without --continue. */
export function resumesResync(args: ReplicationArgs): boolean {
  return !args.continue && (args.resynchronize === true || args['resynchronize-start-time'] !== undefined);
}

/**
 * A resync goes straight to its own module: impl.js would first load the replica server, failover and storage
 * modules that only the other actions use (~50 modules, tens of ms of start-up before the first byte is hashed).
 */
const resume = action(
  'replication resume',
  async (args: ReplicationArgs) => (resumesResync(args) ? (await import('./resync.js')).resumeResynchronize(args) : (await import('./impl.js')).resume(args)),
  { logToFile: true },
);

export const replicationCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'replication <action>',
  describe: 'Replication relationships of this host\'s VMs (…-VMReplication)',
  builder: (yargs) =>
    yargs
      .command({
        command: 'enable',
        describe: 'Enable replication of a VM to a replica server',
        builder: (y: Argv<GlobalOptions>) => settings(vmName(y, true)).option('excluded-vhd-path', { type: 'string', array: true }) as unknown as Argv<ReplicationArgs>,
        handler: run('enable', 'enable', true),
      })
      .command({
        command: 'set',
        describe: 'Change the replication settings of a VM',
        builder: (y: Argv<GlobalOptions>) =>
          settings(vmName(y, true))
            .option('replicated-disk-paths', { type: 'string', array: true })
            .option('initial-replication-start-time', { type: 'string', describe: 'ISO 8601, at most 7 days ahead' })
            .option('disable-vss-snapshot-replication', { type: 'boolean' })
            .option('use-backup', { type: 'boolean' })
            .option('reverse', { type: 'boolean' }) as unknown as Argv<ReplicationArgs>,
        handler: run('set', 'set', true),
      })
      .command({ command: 'get', describe: 'Show replication relationships', builder: filters as (y: Argv<GlobalOptions>) => Argv<ReplicationArgs>, handler: run('get', 'get', false) })
      .command({ command: 'measure', describe: 'Show replication health and statistics', builder: filters as (y: Argv<GlobalOptions>) => Argv<ReplicationArgs>, handler: run('measure', 'measure', false) })
      .command({ command: 'remove', describe: 'Remove the replication relationship of a VM', builder: relationshipType as (y: Argv<GlobalOptions>) => Argv<ReplicationArgs>, handler: run('remove', 'remove', true) })
      .command({ command: 'suspend', describe: 'Pause replication of a VM (Suspend-VMReplication)', builder: relationshipType as (y: Argv<GlobalOptions>) => Argv<ReplicationArgs>, handler: run('suspend', 'suspend', true) })
      .command({
        command: 'resume',
        describe: 'Resume paused replication of a VM (Resume-VMReplication)',
        builder: (y: Argv<GlobalOptions>) =>
          relationshipType(y)
            .option('resynchronize', { type: 'boolean' })
            .option('resynchronize-start-time', { type: 'string' })
            .option('continue', { type: 'boolean' }) as unknown as Argv<ReplicationArgs>,
        handler: resume,
      })
      .command({
        command: 'reset-statistics',
        describe: 'Start the replication statistics of a VM afresh',
        builder: relationshipType as (y: Argv<GlobalOptions>) => Argv<ReplicationArgs>,
        handler: run('reset-statistics', 'resetStatistics', true),
      })
      .demandCommand(1),
  handler: () => undefined,
};
