/**
 * The `--vm-root` option of the commands that act on the file host. Every command module registers it at
 * start-up, so this file imports nothing heavy; the host itself is built in file-host.ts.
 */
import type { Argv } from 'yargs';
import type { GlobalOptions } from '../../command-kit.js';

export interface VmRootOptions extends GlobalOptions {
  'vm-root'?: string;
}

export function withVmRoot<T extends GlobalOptions>(yargs: Argv<T>): Argv<T & VmRootOptions> {
  return yargs.option('vm-root', {
    type: 'string',
    describe: 'Folder holding the file host\'s VMs (default: <state dir>/vms)',
  }) as unknown as Argv<T & VmRootOptions>;
}
