/**
 * Remove-VMReplication's first step: a relationship whose failover record still holds the chain a running VM
 * was left on (src/failover/held-chain.ts) is not simply deleted. With the VM off the chain is finished first;
 * while it runs the removal is refused, saying what to do, so those files are never orphaned. Hyper-V
 * removes each VM a name selects on its own: with a pattern, a VM that cannot go yet stays (a warning says
 * why and what to do) and the others go on; an exact name fails.
 */
import { isWildcard, selectVms } from '../../../relationship/index.js';
import type { HostAdapter, VmSummary } from '../../../host/host-adapter.js';
import { finishHeldChainBeforeRemoval, isFailoverError, type FailoverSite } from '../../../failover/index.js';
import { logger } from '../../../logging/logger.js';

const log = logger('replication');

/** The VMs a name selects on this host: a pattern may match none; an exact name must exist. */
export async function resolveVms(host: HostAdapter, pattern: string): Promise<VmSummary[]> {
  if (isWildcard(pattern)) return selectVms(await host.listVms(), pattern);
  return [await host.getVm(pattern)];
}

/** Finishes the held chains of the VMs `pattern` selects; returns the ids of those whose removal must wait. */
export async function finishHeldChainsBeforeRemoval(site: FailoverSite, pattern: string): Promise<Set<string>> {
  const waiting = new Set<string>();
  for (const vm of await resolveVms(site.host, pattern)) {
    // Only a record inside the relationship file goes with it; a replica's own record stays anyway.
    if (!(await site.store.relationship(vm.id))?.Failover?.heldChain) continue;
    try {
      await finishHeldChainBeforeRemoval(site, await site.store.require(vm.id));
    } catch (error) {
      if (isWildcard(pattern) && isFailoverError(error, 'ERR_INVALID_STATE')) {
        log.warn(`replication of VM '${vm.name}' was not removed: ${error.message}`, { vm: vm.name });
        waiting.add(vm.id);
      } else {
        throw error;
      }
    }
  }
  return waiting;
}
