/**
 * The primary agent (`hvreplica agent run`): one ReplicationScheduler per primary relationship of this
 * host, at the relationship's frequency. The relationship store is re-read periodically, so enabling,
 * removing, suspending or changing the frequency of a VM takes effect without a restart. A tick that
 * finds the previous cycle of its VM still running is recorded as missed (MissedReplicationCount).
 */
import type { HostAdapter } from '../host/host-adapter.js';
import { logger } from '../logging/logger.js';
import { ReplicationScheduler, type ReplicationFrequency, type SchedulerTimer } from '../engine/index.js';
import { RelationshipStore, type ReplicationRelationship } from '../relationship/index.js';
import { ReplicaConfigStore } from '../replica/index.js';
import { replicateVm, type CycleReport } from './replicate-vm.js';
import { resyncDue } from './resync.js';
import { afterMissed } from './relationship-updates.js';
import { PeriodicRefresh } from './periodic-refresh.js';
import type { AgentMetrics } from './metrics.js';

const log = logger('agent');

export interface AgentOptions {
  stateDir: string;
  host: HostAdapter;
  /** How often the relationship store is re-read (default 30 s). */
  refreshMs?: number;
  /** The schedulers' timer (tests fire ticks by hand). */
  timer?: SchedulerTimer;
  clock?: () => Date;
  onCycle?: (vmName: string, outcome: { ok: true; result: CycleReport | undefined } | { ok: false; error: unknown }) => void;
  /** Counts every cycle for the /metrics listener (metrics.ts). */
  metrics?: AgentMetrics;
}

interface Scheduled {
  frequency: number;
  scheduler: ReplicationScheduler<CycleReport | undefined>;
  missedRecorded: number;
}

/** Whether the agent sends this relationship's next cycle now (initial replication waits for its start). */
export function dueForCycle(rel: ReplicationRelationship, now: Date): boolean {
  switch (rel.ReplicationState) {
    case 'Replicating':
    case 'InitialReplicationInProgress':
    case 'Error':
      return true;
    case 'ReadyForInitialReplication':
      return rel.InitialReplicationStartTime !== null && Date.parse(rel.InitialReplicationStartTime) <= now.getTime();
    case 'WaitingForStartResynchronize':
    case 'ResynchronizeSuspended':
    case 'Resynchronizing':
      // Automatic resync in its window, a scheduled one, or an interrupted one to continue (resync.ts).
      return resyncDue(rel, now);
    default:
      return false;
  }
}

export class Agent {
  private readonly schedulers = new Map<string, Scheduled>();
  private readonly store: RelationshipStore;
  private readonly refresher = new PeriodicRefresh(() => this.refresh(), 'relationships');
  private readonly clock: () => Date;

  constructor(private readonly options: AgentOptions) {
    this.store = new RelationshipStore(options.stateDir);
    this.clock = options.clock ?? (() => new Date());
  }

  /** VM ids currently scheduled, for status output. */
  get scheduled(): string[] {
    return [...this.schedulers.keys()];
  }

  async start(): Promise<void> {
    await this.refresh();
    this.refresher.start(this.options.refreshMs ?? 30_000);
  }

  /** Stops every scheduler; a running cycle is aborted and its reference point discarded (nothing is lost). */
  async stop(): Promise<void> {
    await this.refresher.stop();
    await Promise.all([...this.schedulers.values()].map((s) => s.scheduler.stop()));
    this.schedulers.clear();
  }

  async refresh(): Promise<void> {
    const relationships = (await this.store.list()).filter((r) => r.ReplicationMode === 'Primary');
    const wanted = new Map(relationships.map((r) => [r.VMId, r]));
    for (const [vmId, scheduled] of this.schedulers) {
      const rel = wanted.get(vmId);
      if (!rel || rel.ReplicationFrequencySec !== scheduled.frequency) {
        await scheduled.scheduler.stop();
        this.schedulers.delete(vmId);
        log.info(rel ? 'replication frequency changed; rescheduling' : 'relationship removed; no longer scheduled', { vmId });
      } else {
        await this.recordMissed(rel, scheduled);
      }
    }
    for (const rel of relationships) {
      if (this.schedulers.has(rel.VMId)) continue;
      this.schedule(rel);
    }
  }

  private schedule(rel: ReplicationRelationship): void {
    const vmId = rel.VMId;
    const target = {
      syncOnce: async (signal?: AbortSignal): Promise<CycleReport | undefined> => {
        // Re-read at each tick: a suspend or a state change since the last refresh counts at once.
        const current = await this.store.get(vmId);
        if (!current || !dueForCycle(current, this.clock())) return undefined;
        return replicateVm({ stateDir: this.options.stateDir, host: this.options.host, vm: vmId, ...(signal ? { signal } : {}), ...(this.options.clock ? { clock: this.options.clock } : {}) });
      },
    };
    const scheduler = new ReplicationScheduler(target, {
      frequencySeconds: rel.ReplicationFrequencySec as ReplicationFrequency,
      ...(this.options.timer ? { timer: this.options.timer } : {}),
      onCycle: (outcome) => {
        if (!outcome.ok) log.warn('replication cycle failed; the next one covers its changes', { vm: rel.VMName, error: (outcome.error as Error).message });
        this.options.metrics?.record(rel.VMName, outcome);
        this.options.onCycle?.(rel.VMName, outcome);
      },
    });
    this.schedulers.set(vmId, { frequency: rel.ReplicationFrequencySec, scheduler, missedRecorded: 0 });
    scheduler.start();
    log.info('relationship scheduled', { vm: rel.VMName, frequencySec: rel.ReplicationFrequencySec });
  }

  private async recordMissed(rel: ReplicationRelationship, scheduled: Scheduled): Promise<void> {
    const missed = scheduled.scheduler.stats.missed - scheduled.missedRecorded;
    if (missed <= 0) return;
    scheduled.missedRecorded += missed;
    const monitoring = await new ReplicaConfigStore(this.options.stateDir).load();
    await this.store.update(rel.VMId, (current) => {
      let next = current;
      for (let i = 0; next && i < missed; i += 1) next = afterMissed(next, this.clock(), monitoring);
      return { next, result: undefined };
    });
  }
}
