import type { Argv, CommandModule } from 'yargs';
import { action, type GlobalOptions } from '../../command-kit.js';
import { SNAPSHOT_TYPES, type SnapshotType } from './view.js';

export interface RecoveryPointArgs extends GlobalOptions {
  'vm-name': string;
  'snapshot-type'?: SnapshotType;
}

/** `hvreplica recovery-point list`: Get-HvrVMSnapshot over a replica's recovery points (docs/cli-contract.md §3.8). */
export const recoveryPointCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'recovery-point <action>',
  describe: 'Recovery points of replica VMs (Get-VMSnapshot -SnapshotType Replica)',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .command({
        command: 'list',
        describe: 'List the recovery points of a replica VM, oldest first; their Id is what failover start --recovery-point takes',
        builder: (y) =>
          y
            .option('vm-name', { type: 'string', demandOption: true, describe: 'VM name, or a pattern with * and ?' })
            .option('snapshot-type', { choices: SNAPSHOT_TYPES, describe: 'Only points of this type' }),
        handler: action('recovery-point list', async (args: RecoveryPointArgs) => (await import('./impl.js')).recoveryPointList(args)),
      })
      .demandCommand(1),
  handler: () => undefined,
};
