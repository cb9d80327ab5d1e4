/**
 * The file host the vm and workload commands act on: `--vm-root`, else `<state dir>/vms`. Apart from
 * host.ts (the option), so that registering the option does not load the file host and the VHDX engine.
 */
import { join } from 'node:path';
import { FileHost } from '../../../host/file/file-host.js';
import type { VmRootOptions } from './host.js';

export function fileHost(args: VmRootOptions): FileHost {
  return new FileHost({ root: args['vm-root'] ?? join(args['state-dir'], 'vms') });
}
