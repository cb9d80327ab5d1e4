/**
 * When the real-host suite (./hyperv-host.test.ts) may run. It is never skipped without saying why:
 *   - not asked for (no HVR_TEST_HYPERV=1) on Linux or Windows → skipped, the reason naming the variable;
 *   - under Wine → refused: Wine has WMI but no root\virtualization\v2, so nothing of it could pass;
 *   - asked for off Windows → refused;
 *   - asked for on Windows → the preflight (./preflight in the suite) checks elevation and the Hyper-V
 *     module, and fails with what to fix.
 */
import { existsSync } from 'node:fs';

export type Gate = { run: true } | { run: false; skip: string } | { run: false; refuse: string };

/** Wine's node.exe sees the Unix environment and the Unix root as drive Z:. */
export function underWine(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean {
  if (platform !== 'win32') return false;
  return env.WINEPREFIX !== undefined || env.WINELOADER !== undefined || existsSync('Z:\\proc\\self\\status');
}

export function hypervSuiteGate(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Gate {
  if (underWine(env, platform)) {
    return {
      run: false,
      refuse: 'the Hyper-V suite cannot run under Wine: Wine has no Hyper-V (WMI namespace root\\virtualization\\v2, vmms); the Wine checks of the Windows build are in test/hyperv-wine. Run test/hyperv on a real Hyper-V host (docs/hyperv.md)',
    };
  }
  if (env.HVR_TEST_HYPERV !== '1') {
    return { run: false, skip: 'set HVR_TEST_HYPERV=1 in an elevated PowerShell on a Hyper-V host to run this suite (docs/hyperv.md, "Tests")' };
  }
  if (platform !== 'win32') {
    return { run: false, refuse: `HVR_TEST_HYPERV=1 asks for a Hyper-V host, but this is ${platform}: run the suite on Windows Server 2016+ or Windows 10/11 with the Hyper-V role` };
  }
  return { run: true };
}
