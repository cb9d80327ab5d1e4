import { binding } from '../../../native/binding.js';
import { packageVersion } from '../../version.js';
import type { GlobalOptions } from '../../command-kit.js';
import type { CommandResult } from '../../output.js';

export async function hostInfo(args: GlobalOptions): Promise<CommandResult> {
  const addon = binding();
  const features = addon.hostFeatures();
  return {
    data: {
      version: packageVersion(),
      addonVersion: addon.version(),
      node: process.version,
      platform: features.platform,
      arch: process.arch,
      stateDir: args['state-dir'],
      resilientChangeTracking: features.resilientChangeTracking,
      volumeShadowCopy: features.volumeShadowCopy,
    },
  };
}
