/**
 * The extended half of `hvreplica agent run` on a replica server B (A→B→C): one ReplicationScheduler per
 * Extended relationship of this host, at its frequency (300 or 900 s). Like the primary agent it re-reads
 * the records periodically, so enabling, removing, suspending or a failover of A→B take effect without a
 * restart; a cycle in a state that does not send (B failed over, the relationship suspended) is skipped.
 */
import { logger } from '../logging/logger.js';
import { PeriodicRefresh } from './periodic-refresh.js';
import { ReplicationScheduler, type ReplicationFrequency, type SchedulerTimer } from '../engine/index.js';
import { extendedRecords, heldReplicas, type ExtendedRecord } from './extended-relationship.js';
import { replicateExtendedVm, type ExtendedCycleReport } from './extended-replicate.js';
import { ScheduledVms } from './scheduled-vms.js';

const log = logger('agent');

export interface ExtendedAgentOptions {
  stateDir: string;
  /** How often the records are re-read (default 30 s). */
  refreshMs?: number;
  timer?: SchedulerTimer;
  clock?: () => Date;
  onCycle?: (vmName: string, outcome: { ok: true; result: ExtendedCycleReport | undefined } | { ok: false; error: unknown }) => void;
}

/** Whether an extended cycle is due: the relationship sends, and B still receives the VM as a replica. */
async function sends(stateDir: string, record: ExtendedRecord): Promise<boolean> {
  if (!['ReadyForInitialReplication', 'InitialReplicationInProgress', 'Replicating'].includes(record.state)) return false;
  // Refused as removed on the extended replica server: it waits for its administrator (relationship-updates.ts).
  if (record.Relationship.RemovedOnReplica) return false;
  const replica = (await heldReplicas(stateDir, record.vmName)).find((r) => r.vmId === record.vmId.toLowerCase());
  return replica !== undefined && replica.mode === 'Replica' && replica.state === 'Replicating';
}

export class ExtendedAgent {
  private readonly vms = new ScheduledVms<ExtendedCycleReport | undefined>('extended relationship');
  private readonly refresher = new PeriodicRefresh(() => this.refresh(), 'extended relationships');

  constructor(private readonly options: ExtendedAgentOptions) {}

  get scheduled(): string[] {
    return this.vms.ids;
  }

  async start(): Promise<void> {
    await this.refresh();
    this.refresher.start(this.options.refreshMs ?? 30_000);
  }

  async stop(): Promise<void> {
    await this.refresher.stop();
    await this.vms.stopAll();
  }

  async refresh(): Promise<void> {
    const records = await extendedRecords(this.options.stateDir);
    await this.vms.reconcile(
      records.map((record) => ({ vmId: record.vmId.toLowerCase(), vmName: record.vmName, frequency: record.replicationFrequencySec, record })),
      ({ record }) => this.schedule(record),
    );
  }

  private schedule(record: ExtendedRecord): ReplicationScheduler<ExtendedCycleReport | undefined> {
    const vmId = record.vmId.toLowerCase();
    const { stateDir } = this.options;
    const target = {
      syncOnce: async (signal?: AbortSignal): Promise<ExtendedCycleReport | undefined> => {
        // Re-read at each tick: a suspend, a removal or a failover of A→B since the last refresh counts at once.
        const current = (await extendedRecords(stateDir)).find((r) => r.vmId.toLowerCase() === vmId);
        if (!current || !(await sends(stateDir, current))) return undefined;
        return replicateExtendedVm({ stateDir, vm: vmId, ...(signal ? { signal } : {}), ...(this.options.clock ? { clock: this.options.clock } : {}) });
      },
    };
    return new ReplicationScheduler(target, {
      frequencySeconds: record.replicationFrequencySec as ReplicationFrequency,
      ...(this.options.timer ? { timer: this.options.timer } : {}),
      onCycle: (outcome) => {
        if (!outcome.ok) log.warn('extended replication cycle failed; the next one sends the union of changes', { vm: record.vmName, error: (outcome.error as Error).message });
        this.options.onCycle?.(record.vmName, outcome);
      },
    });
  }
}
