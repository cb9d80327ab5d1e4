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
import { workAfterResultSettled } from '../util/work-after-result.js';
import { replicateVm, type CycleReport } from './replicate-vm.js';
import { initialAcknowledged, runInitialReplication } from './initial-run.js';
import { resyncDue } from './resync.js';
import { afterMissed } from './relationship-updates.js';
import { PeriodicRefresh } from './periodic-refresh.js';
import type { AgentMetrics } from './metrics.js';
import { ScheduledVms, type ScheduledVm } from './scheduled-vms.js';

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

/** Whether the agent sends this relationship's next cycle now (initial replication waits for its start). */
export function dueForCycle(rel: ReplicationRelationship, now: Date): boolean {
  // Refused as removed on the replica server: every try would take a reference point on the VM only to be
  // refused again. The relationship waits for its administrator (remove and enable again, or resume).
  if (rel.RemovedOnReplica) return false;
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

/**
 * One line per cycle in the agent's log: what it sent and how long it took. LatencySec is the relationship's
 * latency (reference point to acknowledgement, as `replicate` reports it); TickSec is all the agent spent on
 * the cycle from its scheduler's tick (reading the relationship, the cycle lock, the certificate) to the
 * recorded outcome: what an administrator waits for, and what the replication bench measures.
 */
function logCycle(report: CycleReport, tickSec: number): void {
  log.info('replication cycle done', {
    vm: report.VMName,
    kind: report.Kind,
    generation: report.Generation,
    sequence: report.Sequence,
    referencePoint: report.ReferencePoint,
    logBytes: report.LogBytes,
    changedBytes: report.ChangedBytes,
    latencySec: report.LatencySec,
    tickSec: Math.round(tickSec * 1000) / 1000,
  });
}

const INITIAL_STATES = new Set(['ReadyForInitialReplication', 'InitialReplicationInProgress', 'Error']);

/**
 * A tick that runs an initial replication: its scheduled start, or a retry of one that failed or was
 * interrupted (nothing acknowledged yet), recorded like `initial start` so `replication get|measure` show it.
 */
async function startsInitialReplication(stateDir: string, rel: ReplicationRelationship): Promise<boolean> {
  return INITIAL_STATES.has(rel.ReplicationState) && !(await initialAcknowledged(stateDir, rel.VMId));
}

export class Agent {
  private readonly vms = new ScheduledVms<CycleReport | undefined>('relationship');
  private readonly store: RelationshipStore;
  private readonly refresher = new PeriodicRefresh(() => this.refresh(), 'relationships');
  private readonly clock: () => Date;

  constructor(private readonly options: AgentOptions) {
    this.store = new RelationshipStore(options.stateDir);
    this.clock = options.clock ?? (() => new Date());
  }

  /** VM ids currently scheduled, for status output. */
  get scheduled(): string[] {
    return this.vms.ids;
  }

  async start(): Promise<void> {
    await this.refresh();
    this.refresher.start(this.options.refreshMs ?? 30_000);
  }

  /**
   * Stops every scheduler; a running cycle is aborted and its reference point discarded (nothing is lost).
   * A finished cycle whose reference point is still being committed is let finish (a stop in the middle
   * would be safe too: the next cycle commits it).
   */
  async stop(): Promise<void> {
    await this.refresher.stop();
    await this.vms.stopAll();
    await workAfterResultSettled();
  }

  async refresh(): Promise<void> {
    const relationships = (await this.store.list()).filter((r) => r.ReplicationMode === 'Primary');
    await this.vms.reconcile(
      relationships.map((rel) => ({ vmId: rel.VMId, vmName: rel.VMName, frequency: rel.ReplicationFrequencySec, rel })),
      ({ rel }) => this.schedule(rel),
      ({ rel }, entry) => this.recordMissed(rel, entry),
    );
  }

  private schedule(rel: ReplicationRelationship): ReplicationScheduler<CycleReport | undefined> {
    const vmId = rel.VMId;
    const target = {
      syncOnce: async (signal?: AbortSignal): Promise<CycleReport | undefined> => {
        const tick = performance.now();
        // Re-read at each tick: a suspend or a state change since the last refresh counts at once.
        const current = await this.store.get(vmId);
        if (!current || !dueForCycle(current, this.clock())) return undefined;
        const report = (await startsInitialReplication(this.options.stateDir, current))
          ? // Network or from the copy on the replica (-UseBackup), as `initial start` was told.
            await runInitialReplication({ stateDir: this.options.stateDir, host: this.options.host, vmId, vmName: current.VMName, ...(current.InitialReplicationUseBackup ? { useBackup: true } : {}), ...(signal ? { signal } : {}), ...(this.options.clock ? { clock: this.options.clock } : {}) })
          : await replicateVm({ stateDir: this.options.stateDir, host: this.options.host, vm: vmId, ...(signal ? { signal } : {}), ...(this.options.clock ? { clock: this.options.clock } : {}) });
        logCycle(report, (performance.now() - tick) / 1000);
        return report;
      },
    };
    return new ReplicationScheduler(target, {
      frequencySeconds: rel.ReplicationFrequencySec as ReplicationFrequency,
      ...(this.options.timer ? { timer: this.options.timer } : {}),
      onCycle: (outcome) => {
        if (!outcome.ok) log.warn('replication cycle failed; the next one covers its changes', { vm: rel.VMName, error: (outcome.error as Error).message });
        this.options.metrics?.record(rel.VMName, outcome);
        this.options.onCycle?.(rel.VMName, outcome);
      },
    });
  }

  private async recordMissed(rel: ReplicationRelationship, scheduled: ScheduledVm<CycleReport | undefined>): Promise<void> {
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
