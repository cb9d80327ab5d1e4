/**
 * An agent's schedulers, one per VM, kept in step with the relationships it should replicate: a VM no
 * longer wanted, or wanted at another frequency, has its scheduler stopped (a running cycle is aborted and
 * its reference point discarded, so nothing is lost); a VM newly wanted gets one. The primary agent and the
 * extended agent share it, so enabling, removing and rescheduling behave alike in both.
 */
import { logger } from '../logging/logger.js';
import type { ReplicationScheduler } from '../engine/index.js';

const log = logger('agent');

export interface WantedVm {
  vmId: string;
  vmName: string;
  frequency: number;
}

export interface ScheduledVm<R> {
  frequency: number;
  scheduler: ReplicationScheduler<R>;
  /** Missed ticks already written to the relationship (the primary agent's MissedReplicationCount). */
  missedRecorded: number;
}

export class ScheduledVms<R> {
  private readonly entries = new Map<string, ScheduledVm<R>>();

  /** `what` names the relationships in log lines ("relationship", "extended relationship"). */
  constructor(private readonly what: string) {}

  get ids(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * Stops what is no longer wanted as it is, calls `kept` for each scheduler that stays, and starts the
   * scheduler `create` builds for each VM newly wanted.
   */
  async reconcile<W extends WantedVm>(
    wanted: readonly W[],
    create: (vm: W) => ReplicationScheduler<R>,
    kept?: (vm: W, entry: ScheduledVm<R>) => Promise<void>,
  ): Promise<void> {
    const byId = new Map(wanted.map((vm) => [vm.vmId, vm]));
    for (const [vmId, entry] of this.entries) {
      const vm = byId.get(vmId);
      if (vm && vm.frequency === entry.frequency) {
        await kept?.(vm, entry);
        continue;
      }
      await entry.scheduler.stop();
      this.entries.delete(vmId);
      log.info(vm ? `${this.what}: frequency changed; rescheduling` : `${this.what} removed (or halted by a failover or reverse); no longer scheduled`, { vmId });
    }
    for (const vm of wanted) {
      if (this.entries.has(vm.vmId)) continue;
      const scheduler = create(vm);
      this.entries.set(vm.vmId, { frequency: vm.frequency, scheduler, missedRecorded: 0 });
      scheduler.start();
      log.info(`${this.what} scheduled`, { vm: vm.vmName, frequencySec: vm.frequency });
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.entries.values()].map((entry) => entry.scheduler.stop()));
    this.entries.clear();
  }
}
