/** The one place that builds a host adapter implementation for a kind of host. */
import { join } from 'node:path';
import { FileHost } from './file/file-host.js';
import type { HostAdapter, HostKind } from './host-adapter.js';
import { HostError } from './host-error.js';
import { HyperVHost } from './hyperv/hyperv-host.js';

export interface HostAdapterOptions {
  kind: HostKind;
  /** The host's state directory; the file host keeps its VMs in `<stateDir>/vms` unless `vmRoot` says otherwise. */
  stateDir: string;
  vmRoot?: string;
}

/**
 * Constructing the Hyper-V adapter loads nothing Windows-only: its WMI and virtdisk bindings are reached
 * at its first call, which is where a host without the Hyper-V role gets its error.
 */
export function createHostAdapter(options: HostAdapterOptions): HostAdapter {
  switch (options.kind) {
    case 'file':
      return new FileHost({ root: options.vmRoot ?? join(options.stateDir, 'vms') });
    case 'hyperv':
      // Hyper-V keeps what it does not remember itself (committed reference points, replica and test
      // VMs) under <state dir>/hyperv.
      return new HyperVHost({ stateDir: options.stateDir });
    default:
      throw new HostError('ERR_INVALID_ARGUMENT', `unknown host kind '${String(options.kind)}': use 'file' or 'hyperv'`);
  }
}
