/** Counters and gauges rendered in the Prometheus text exposition format (version 0.0.4). */
type Labels = Record<string, string>;

interface Metric {
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, number>;
}

function labelKey(labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]!.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  define(name: string, type: 'counter' | 'gauge', help: string): void {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`invalid metric name ${name}`);
    if (!this.metrics.has(name)) this.metrics.set(name, { help, type, values: new Map() });
  }

  inc(name: string, labels: Labels = {}, by = 1): void {
    const metric = this.get(name);
    const key = labelKey(labels);
    metric.values.set(key, (metric.values.get(key) ?? 0) + by);
  }

  set(name: string, value: number, labels: Labels = {}): void {
    this.get(name).values.set(labelKey(labels), value);
  }

  value(name: string, labels: Labels = {}): number {
    return this.get(name).values.get(labelKey(labels)) ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, metric] of this.metrics) {
      lines.push(`# HELP ${name} ${metric.help}`, `# TYPE ${name} ${metric.type}`);
      if (metric.values.size === 0 && metric.type === 'gauge') lines.push(`${name} 0`);
      for (const [key, value] of metric.values) lines.push(`${name}${key} ${value}`);
    }
    return `${lines.join('\n')}\n`;
  }

  private get(name: string): Metric {
    const metric = this.metrics.get(name);
    if (!metric) throw new Error(`metric ${name} is not defined`);
    return metric;
  }
}

export function replicaServerMetrics(): MetricsRegistry {
  const m = new MetricsRegistry();
  m.define('hvr_requests_total', 'counter', 'Requests answered, by route and HTTP status');
  m.define('hvr_refused_total', 'counter', 'Requests refused before reaching the replica service, by reason');
  m.define('hvr_logs_accepted_total', 'counter', 'Replication logs verified and accepted');
  m.define('hvr_logs_rejected_total', 'counter', 'Replication logs rejected, by error code');
  m.define('hvr_received_bytes_total', 'counter', 'Log bytes received and stored');
  m.define('hvr_uploads_interrupted_total', 'counter', 'Uploads cut before their end (to be resumed)');
  m.define('hvr_active_uploads', 'gauge', 'Uploads in progress');
  m.define('hvr_sessions', 'gauge', 'Open HTTP/2 sessions');
  return m;
}
