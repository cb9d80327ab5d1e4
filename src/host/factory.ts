/** The one place that picks a host adapter implementation. */
import { join } from 'node:path';
import { FileHost } from './file/file-host.js';
import type { HostAdapter, HostKind } from './host-adapter.js';
import { HostError } from './host-error.js';

export interface HostAdapterOptions {
  kind: HostKind;
  /** The host's state directory; the file host keeps its VMs in `<stateDir>/vms` unless `vmRoot` says otherwise. */
  stateDir: string;
  vmRoot?: string;
}

/** The Hyper-V adapter is imported only when asked for, so other hosts never load its bindings. */
export async function createHostAdapter(options: HostAdapterOptions): Promise<HostAdapter> {
  switch (options.kind) {
    case 'file':
      return new FileHost({ root: options.vmRoot ?? join(options.stateDir, 'vms') });
    case 'hyperv': {
      const { HyperVHost } = await import('./hyperv/hyperv-host.js');
      return new HyperVHost({ stateDir: options.stateDir });
    }
    default:
      throw new HostError('ERR_INVALID_ARGUMENT', `unknown host kind '${String(options.kind)}': use 'file' or 'hyperv'`);
  }
}
