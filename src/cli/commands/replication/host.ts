/**
 * The host adapter the replication commands act on: the file host of the vm commands (`--vm-root`,
 * else `<state dir>/vms`). The Hyper-V adapter is not wired into the CLI yet.
 */
import type { HostAdapter } from '../../../host/host-adapter.js';
import { CliError } from '../../cli-error.js';
import { ExitCode } from '../../exit-codes.js';
import { fileHost, type VmRootOptions } from '../vm/host.js';

export function openHostAdapter(args: VmRootOptions): HostAdapter {
  if (process.platform === 'win32') {
    throw new CliError('ERR_NOT_SUPPORTED', 'the Hyper-V host adapter is not available to the replication commands yet', ExitCode.NotSupported);
  }
  return fileHost(args);
}
