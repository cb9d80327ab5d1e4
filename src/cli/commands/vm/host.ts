/** The file host the vm and workload commands act on: `--vm-root`, else `<state dir>/vms`. */
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { FileHost } from '../../../host/file/file-host.js';
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

export function fileHost(args: VmRootOptions): FileHost {
  return new FileHost({ root: args['vm-root'] ?? join(args['state-dir'], 'vms') });
}
