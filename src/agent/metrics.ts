/**
 * The primary agent's optional /metrics listener (`hvreplica agent run --metrics-port`): per-VM cycle
 * counts, bytes sent, last cycle latency, and replication state and health as gauges, in the Prometheus
 * text format of the replica server (same MetricsRegistry). Counters live for the agent's process; state
 * and health are read from the relationship store at every scrape, so they match `replication get`, and
 * the data at risk is read from the change tracker at every scrape, as `replication measure` reads it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostAdapter } from '../host/host-adapter.js';
import { logger } from '../logging/logger.js';
import { assessHealth, pendingSizeNow, REPLICATION_STATES, RelationshipStore } from '../relationship/index.js';
import { MetricsRegistry } from '../transport/metrics.js';
import { primaryStateFile } from './paths.js';
import type { CycleReport } from './replicate-vm.js';

const log = logger('agent.metrics');

const HEALTHS = ['NotApplicable', 'Normal', 'Warning', 'Critical'] as const;

export type CycleOutcome = { ok: true; result: CycleReport | undefined } | { ok: false; error: unknown };

/** Counts what the agent's cycles did; `render` adds the relationships' current state and health. */
export class AgentMetrics {
  private readonly counters = new MetricsRegistry();

  /** `host`: the adapter whose change trackers give each VM's data at risk; without it that gauge is absent. */
  constructor(
    private readonly stateDir: string,
    private readonly clock: () => Date = () => new Date(),
    private readonly host?: HostAdapter,
  ) {
    const m = this.counters;
    m.define('hvr_agent_cycles_total', 'counter', 'Replication cycles the agent ran, by VM and outcome (ok, failed)');
    m.define('hvr_agent_sent_bytes_total', 'counter', 'Log bytes sent to the replica server (after compression), by VM');
    m.define('hvr_agent_changed_bytes_total', 'counter', 'Disk bytes the sent cycles covered, by VM');
    m.define('hvr_agent_last_cycle_latency_seconds', 'gauge', 'Duration of the last successful cycle, by VM');
    m.define('hvr_agent_last_cycle_timestamp_seconds', 'gauge', 'End of the last successful cycle (Unix time), by VM');
  }

  /** Feeds one cycle outcome (the Agent's onCycle). A tick with nothing due (no result) counts nothing. */
  record(vmName: string, outcome: CycleOutcome): void {
    if (!outcome.ok) {
      this.counters.inc('hvr_agent_cycles_total', { vm: vmName, outcome: 'failed' });
      return;
    }
    const report = outcome.result;
    if (!report) return;
    const vm = report.VMName;
    this.counters.inc('hvr_agent_cycles_total', { vm, outcome: 'ok' });
    this.counters.inc('hvr_agent_sent_bytes_total', { vm }, report.LogBytes);
    this.counters.inc('hvr_agent_changed_bytes_total', { vm }, report.ChangedBytes);
    this.counters.set('hvr_agent_last_cycle_latency_seconds', report.LatencySec, { vm });
    this.counters.set('hvr_agent_last_cycle_timestamp_seconds', Date.parse(report.EndTime) / 1000, { vm });
  }

  /** The exposition text: counters, then one 0/1 gauge per state and health value of each primary VM. */
  async render(): Promise<string> {
    // Built fresh at every scrape: a VM that left a state (or the store) must not keep its old series.
    const now = new MetricsRegistry();
    now.define('hvr_agent_relationships', 'gauge', 'Primary relationships on this host');
    now.define('hvr_agent_replication_state', 'gauge', 'Replication state of each primary VM (1 for the current state)');
    now.define('hvr_agent_replication_health', 'gauge', 'Replication health of each primary VM (1 for the current health)');
    now.define('hvr_agent_missed_cycles', 'gauge', 'Cycles missed in the current monitoring interval, by VM');
    now.define('hvr_agent_pending_replication_bytes', 'gauge', 'Data at risk: bytes changed on the VM and not yet acknowledged by the replica (PendingReplicationSize), by VM');
    const relationships = (await new RelationshipStore(this.stateDir).list()).filter((r) => r.ReplicationMode === 'Primary');
    now.set('hvr_agent_relationships', relationships.length);
    for (const rel of relationships) {
      const vm = rel.VMName;
      for (const state of REPLICATION_STATES) now.set('hvr_agent_replication_state', state === rel.ReplicationState ? 1 : 0, { vm, state });
      const health = assessHealth(rel, this.clock()).ReplicationHealth;
      for (const h of HEALTHS) now.set('hvr_agent_replication_health', h === health ? 1 : 0, { vm, health: h });
      now.set('hvr_agent_missed_cycles', rel.Statistics.MissedReplicationCount, { vm });
      // Unreadable right now (pendingSizeNow warned why): no sample rather than a false 0.
      const pending = this.host ? await pendingSizeNow(this.host, rel, primaryStateFile(this.stateDir, rel.VMId)) : null;
      if (pending !== null) now.set('hvr_agent_pending_replication_bytes', pending, { vm });
    }
    return this.counters.render() + now.render();
  }
}

export interface MetricsListener {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves GET /metrics on `host:port` (port 0 picks a free one); every other path is 404. */
export async function startMetricsListener(metrics: AgentMetrics, port: number, host = '127.0.0.1'): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; the agent serves GET /metrics\n');
      return;
    }
    metrics.render().then(
      (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text),
      (error: unknown) => {
        log.warn('rendering /metrics failed', { error: (error as Error).message });
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${(error as Error).message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  log.info('metrics listener started', { host, port: bound });
  return {
    port: bound,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
