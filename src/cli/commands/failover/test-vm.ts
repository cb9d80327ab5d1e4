/**
 * The `TestVirtualMachine` property of VMReplication (docs/cli-contract.md §2.1): the running test failover's
 * VM, or null. For `replication get|measure`, which own the VMReplication object; kept here, beside the
 * test failover commands, so that the test VM is described the same way everywhere.
 */
import { hostVm, localSite } from './select.js';
import { testVmView } from './view.js';

export async function testVirtualMachine(stateDir: string, vmId: string): Promise<Record<string, unknown> | null> {
  const site = localSite(stateDir);
  const test = (await site.store.get(vmId))?.testFailover;
  if (!test) return null;
  // A test VM removed behind the record's back is still the test failover's: shown Off.
  const vm = await hostVm(site, test.vmId);
  return testVmView(vm ?? { id: test.vmId, name: test.vmName, state: 'off' });
}
