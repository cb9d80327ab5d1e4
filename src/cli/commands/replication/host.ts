/**
 * The host adapter the replication commands (enable, initial, replicate, agent, …) act on:
 *   - the Hyper-V adapter on Windows, over root\virtualization\v2 and virtdisk (src/host/hyperv);
 *   - the file host of the vm commands (`--vm-root`, else `<state dir>/vms`) everywhere else, and on
 *     Windows when asked for with `--vm-root` or HVR_HOST=file (labs, tests, hosts without Hyper-V).
 * HVR_HOST=hyperv|file overrides the choice; asking for Hyper-V off Windows is refused here, before any
 * command starts work, with what to use instead.
 */
import { createHostAdapter } from '../../../host/factory.js';
import type { HostAdapter, HostKind } from '../../../host/host-adapter.js';
import { CliError } from '../../cli-error.js';
import { ExitCode } from '../../exit-codes.js';
import type { VmRootOptions } from '../vm/host.js';

/** Which adapter a command gets; exported for tests, which pass their own platform and environment. */
export function hostKindFor(args: VmRootOptions, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): HostKind {
  const wanted = env.HVR_HOST?.trim().toLowerCase();
  if (wanted !== undefined && wanted !== '' && wanted !== 'file' && wanted !== 'hyperv') {
    throw new CliError('ERR_USAGE', `HVR_HOST='${env.HVR_HOST}' is not a host kind: use 'hyperv' (Windows with the Hyper-V role) or 'file'`, ExitCode.Usage);
  }
  if (wanted === 'hyperv' && args['vm-root'] !== undefined) {
    throw new CliError('ERR_USAGE', '--vm-root names a folder of the file host; it cannot be used with HVR_HOST=hyperv', ExitCode.Usage);
  }
  const kind: HostKind = wanted === 'file' || wanted === 'hyperv' ? wanted : args['vm-root'] !== undefined ? 'file' : platform === 'win32' ? 'hyperv' : 'file';
  if (kind === 'hyperv' && platform !== 'win32') {
    throw new CliError(
      'ERR_NOT_SUPPORTED',
      `the Hyper-V host adapter needs Windows with the Hyper-V role, and this host runs ${platform}; unset HVR_HOST (or set HVR_HOST=file) to replicate the file host's VMs`,
      ExitCode.NotSupported,
    );
  }
  return kind;
}

export function openHostAdapter(args: VmRootOptions): HostAdapter {
  const vmRoot = args['vm-root'];
  return createHostAdapter({ kind: hostKindFor(args), stateDir: args['state-dir'], ...(vmRoot !== undefined ? { vmRoot } : {}) });
}
