/**
 * The agent's /metrics listener: cycle outcomes become per-VM counters and gauges, relationship state
 * and health are read from the store at every scrape, in the replica server's Prometheus text format;
 * and `hvreplica agent run --metrics-port` serves it from a real agent process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentMetrics, startMetricsListener } from '../../src/agent/metrics.js';
import type { CycleReport } from '../../src/agent/replicate-vm.js';
import { enableRelationship, RelationshipStore, type VmForReplication } from '../../src/relationship/index.js';
import { cliPath, tempDir } from '../helpers/paths.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const disk = (path: string) => ({ Path: path, ControllerType: 'SCSI' as const, ControllerNumber: 0, ControllerLocation: 0 });
const VM: VmForReplication = { id: '0d2c6f1e-1111-4222-8333-944445555666', name: 'web1', isReplica: false, disks: [disk('/vms/web1/os.vhdx')] };

async function enable(stateDir: string): Promise<void> {
  const rel = enableRelationship(
    VM,
    { ReplicaServerName: 'replica.lab.test', ReplicaServerPort: 443, AuthenticationType: 'Certificate', CertificateThumbprint: 'C0FFEE'.padEnd(40, '0') },
    { primaryServerName: 'hv-a.lab.test', now: NOW },
  );
  await new RelationshipStore(stateDir).update(VM.id, () => ({ next: rel, result: undefined }));
}

function report(logBytes: number, latencySec: number, end: string): CycleReport {
  return {
    VMName: 'web1', VMId: VM.id, Kind: 'delta', Generation: 1, Sequence: 1, ReferencePoint: 'rp', Consistency: 'crash',
    LogBytes: logBytes, ChangedBytes: logBytes * 2, StartTime: NOW.toISOString(), EndTime: end, LatencySec: latencySec,
  };
}

/** Sample lines as name{labels} → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('agent /metrics', () => {
  const dir = tempDir('agent-metrics');
  after(() => dir.cleanup());

  it('counts cycles, bytes and latency per VM and shows state and health as 0/1 gauges', async () => {
    const stateDir = join(dir.path, 'unit');
    await mkdir(stateDir, { recursive: true });
    await enable(stateDir);
    const metrics = new AgentMetrics(stateDir, () => NOW);
    metrics.record('web1', { ok: true, result: report(1000, 2.5, '2026-11-25T12:00:02.500Z') });
    metrics.record('web1', { ok: true, result: report(24, 0.75, '2026-11-25T12:05:00.750Z') });
    metrics.record('web1', { ok: true, result: undefined }); // a tick with nothing due
    metrics.record('web1', { ok: false, error: new Error('replica unreachable') });
    const listener = await startMetricsListener(metrics, 0);
    try {
      const response = await fetch(`http://127.0.0.1:${listener.port}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      assert.match(text, /# TYPE hvr_agent_cycles_total counter/);
      assert.match(text, /# TYPE hvr_agent_replication_state gauge/);
      const s = samples(text);
      assert.equal(s.get('hvr_agent_cycles_total{outcome="ok",vm="web1"}'), 2);
      assert.equal(s.get('hvr_agent_cycles_total{outcome="failed",vm="web1"}'), 1);
      assert.equal(s.get('hvr_agent_sent_bytes_total{vm="web1"}'), 1024);
      assert.equal(s.get('hvr_agent_changed_bytes_total{vm="web1"}'), 2048);
      assert.equal(s.get('hvr_agent_last_cycle_latency_seconds{vm="web1"}'), 0.75);
      assert.equal(s.get('hvr_agent_last_cycle_timestamp_seconds{vm="web1"}'), Date.parse('2026-11-25T12:05:00.750Z') / 1000);
      assert.equal(s.get('hvr_agent_relationships'), 1);
      const rel = (await new RelationshipStore(stateDir).get(VM.id))!;
      assert.equal(s.get(`hvr_agent_replication_state{state="${rel.ReplicationState}",vm="web1"}`), 1);
      const states = [...s].filter(([k]) => k.startsWith('hvr_agent_replication_state{'));
      assert.equal(states.filter(([, v]) => v === 1).length, 1, 'exactly one current state');
      const healths = [...s].filter(([k]) => k.startsWith('hvr_agent_replication_health{'));
      assert.equal(healths.length, 4);
      assert.equal(healths.filter(([, v]) => v === 1).length, 1, 'exactly one current health');
      assert.equal((await fetch(`http://127.0.0.1:${listener.port}/other`)).status, 404);
      // A relationship removed from the store disappears from the next scrape.
      await new RelationshipStore(stateDir).update(VM.id, () => ({ next: undefined, result: undefined }));
      const later = samples(await (await fetch(`http://127.0.0.1:${listener.port}/metrics`)).text());
      assert.equal(later.get('hvr_agent_relationships'), 0);
      assert.ok(![...later.keys()].some((k) => k.startsWith('hvr_agent_replication_state{')));
      assert.equal(later.get('hvr_agent_cycles_total{outcome="ok",vm="web1"}'), 2, 'counters live for the process');
    } finally {
      await listener.close();
    }
  });

  it('hvreplica agent run --metrics-port serves the relationships of the running agent', async () => {
    const stateDir = join(dir.path, 'cli-state');
    const vmRoot = join(dir.path, 'cli-vms');
    await mkdir(stateDir, { recursive: true });
    await mkdir(vmRoot, { recursive: true });
    await enable(stateDir);
    const port = await freePort();
    const child = spawn(process.execPath, [cliPath, 'agent', 'run', '--state-dir', stateDir, '--vm-root', vmRoot, '--metrics-port', String(port), '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    let text = '';
    // Polls until the listener answers; the loop ends on the agent exiting, never on elapsed time.
    while (text === '') {
      if (child.exitCode !== null) throw new Error(`the agent exited early: ${stdout}${stderr}`);
      text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => (r.ok ? r.text() : ''), () => '');
      if (text === '') await sleep(100);
    }
    const s = samples(text);
    assert.equal(s.get('hvr_agent_relationships'), 1, text);
    assert.equal([...s].filter(([k, v]) => k.startsWith('hvr_agent_replication_state{') && k.includes('vm="web1"') && v === 1).length, 1);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.equal((JSON.parse(stdout) as { ok: boolean }).ok, true);
  });
});
