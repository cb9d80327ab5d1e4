/**
 * Resynchronization through the real CLI and a real `hvreplica server run`: tracking loses its place (a
 * reference point committed outside replication), and the relationship resyncs by hash comparison,
 * automatically in its window or on `replication resume --resynchronize`, keeping the recovery points;
 * an interrupted resync continues; the replica equals the primary by SHA-256 at every point checked.
 */
import assert from 'node:assert/strict';
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HASH_SYNC_BLOCK_SIZE } from '../../src/agent/hash-sync.js';
import type { CycleReport } from '../../src/agent/replicate-vm.js';
import { openVhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { cli, MiB, TwoHosts, type CliResult } from '../e2e/harness.js';
import { recoveryPoints, touchedBytes } from './helpers.js';

type Row = Record<string, unknown>;

function first(run: CliResult): Row {
  assert.equal(run.code, 0, JSON.stringify(run.json));
  return (run.json.result as Row[])[0]!;
}

async function relationship(hosts: TwoHosts, verb: 'get' | 'measure'): Promise<Row> {
  return first(await cli(['replication', verb, '--vm-name=vm1', `--state-dir=${hosts.primaryState}`]));
}

async function setAutoResync(hosts: TwoHosts, start: number, end: number): Promise<void> {
  const run = await cli([
    'replication', 'set', '--vm-name=vm1', '--auto-resynchronize-enabled', `--auto-resynchronize-interval-start=${start}`,
    `--auto-resynchronize-interval-end=${end}`, `--state-dir=${hosts.primaryState}`,
  ]);
  assert.equal(run.code, 0, JSON.stringify(run.json));
}

/** Writes the replica has not seen (journalled), then a point committed outside replication: tracking is lost. */
async function loseTracking(hosts: TwoHosts, seed: number, bytes: string): Promise<string> {
  const journal = join(hosts.root, `journal-${seed}.jsonl`);
  await hosts.workload([`--seed=${seed}`, `--bytes=${bytes}`, '--zero-share=0', '--trim-share=0', `--journal=${journal}`]);
  const stray = await hosts.host.createReferencePoint(hosts.vmId);
  await hosts.host.commitReferencePoint(hosts.vmId, stray.id);
  return journal;
}

async function bound(hosts: TwoHosts, journal: string): Promise<number> {
  const vm = await hosts.host.getVm(hosts.vmId);
  return touchedBytes(journal, HASH_SYNC_BLOCK_SIZE, new Map(vm.disks.map((d) => [d.id, d.virtualSize])));
}

describe('resynchronization', () => {
  it('tracking lost with automatic resync in its window: only differences sent, recovery points kept, replica exact', async (t) => {
    const disks = [32 * MiB, 16 * MiB];
    const total = disks.reduce((a, b) => a + b, 0);
    const hosts = await TwoHosts.create({ disks });
    try {
      await setAutoResync(hosts, 0, 86399);
      await hosts.startServer();
      await hosts.workload(['--seed=61', '--bytes=12MiB']);
      const initial = await hosts.replicate();
      assert.equal(initial.cycle?.Kind, 'initial', JSON.stringify(initial.json));
      await hosts.workload(['--seed=62', '--bytes=1MiB']);
      assert.equal((await hosts.replicate()).cycle?.Kind, 'delta');
      const pointsBefore = await hosts.server!.stop().then(() => recoveryPoints(hosts.replicaDir));
      await hosts.startServer();

      const journal = await loseTracking(hosts, 63, '768KiB');
      const resync = await hosts.replicate();
      assert.equal(resync.code, 0, JSON.stringify(resync.json));
      const report = resync.json.result as CycleReport;
      assert.equal(report.Kind, 'resync');
      assert.deepEqual([report.Generation, report.Sequence], [1, 2], 'a new cycle of the same generation, not a new full copy');
      const most = await bound(hosts, journal);
      assert.equal(report.ComparedBytes, total);
      assert.ok(report.ChangedBytes > 0 && report.ChangedBytes <= most, `${report.ChangedBytes} bytes differed; the writes touched ${most} bytes of the compared blocks`);
      assert.ok(report.LogBytes < total / 8, `${report.LogBytes} bytes sent for ${total} bytes of disk`);
      t.diagnostic(`resync: ${report.LogBytes} bytes sent, ${report.ChangedBytes} differing, of ${total} bytes of disk (${((100 * report.LogBytes) / total).toFixed(1)} %)`);

      const health = await relationship(hosts, 'measure');
      assert.equal(health.ReplicationState, 'Replicating');
      assert.equal(health.ResynchronizedBytes, report.ChangedBytes);
      await hosts.workload(['--seed=64', '--bytes=256KiB']);
      const after = await hosts.replicate();
      assert.deepEqual([after.cycle?.Kind, after.cycle?.Sequence], ['delta', 3]);
      assert.equal(await hosts.server!.stop(), 0);
      const points = await recoveryPoints(hosts.replicaDir);
      for (const kept of pointsBefore) assert.ok(points.some((p) => p.id === kept.id), `recovery point ${kept.generation}/${kept.sequence} is kept`);
      assert.ok((await hosts.verifyReplica(after.cycle!.ReferencePoint)) >= 4, 'every recovery point equals the primary at its point');
    } finally {
      await hosts.dispose();
    }
  });

  it('outside the automatic resync window: ResynchronizeSuspended (Critical) until resume --resynchronize', async () => {
    const hosts = await TwoHosts.create({ disks: [16 * MiB, 8 * MiB] });
    try {
      // A window that starts two hours from now and lasts an hour: now lies outside it.
      const now = new Date();
      const t = now.getHours() * 3600 + now.getMinutes() * 60 + now.getSeconds();
      await setAutoResync(hosts, (t + 7200) % 86400, (t + 10800) % 86400);
      await hosts.startServer();
      await hosts.workload(['--seed=71', '--bytes=4MiB']);
      assert.equal((await hosts.replicate()).cycle?.Kind, 'initial');
      await loseTracking(hosts, 72, '512KiB');

      const refused = await hosts.replicate();
      assert.equal(refused.code, 6, JSON.stringify(refused.json));
      assert.equal(refused.json.error?.code, 'ERR_RESYNC_REQUIRED');
      assert.match(refused.json.error!.message, /window/);
      let health = await relationship(hosts, 'measure');
      assert.deepEqual([health.ReplicationState, health.ReplicationHealth], ['ResynchronizeSuspended', 'Critical']);
      const again = await hosts.replicate();
      assert.equal(again.json.error?.code, 'ERR_RESYNC_REQUIRED', 'still waiting for its window');

      const resumed = await cli(['replication', 'resume', '--vm-name=vm1', '--resynchronize', `--state-dir=${hosts.primaryState}`]);
      const row = first(resumed);
      const report = row.Resynchronization as CycleReport;
      assert.equal(row.ReplicationState, 'Replicating');
      assert.equal(report.Kind, 'resync');
      assert.ok(report.LogBytes < (24 * MiB) / 8, `${report.LogBytes} bytes sent`);
      await hosts.rememberPrimary(report.ReferencePoint);
      health = await relationship(hosts, 'measure');
      assert.deepEqual([health.ReplicationState, health.ReplicationHealth], ['Replicating', 'Normal']);
      const next = await hosts.replicate();
      assert.equal(next.cycle?.Kind, 'delta', JSON.stringify(next.json));
      assert.equal(await hosts.server!.stop(), 0);
      assert.ok((await hosts.verifyReplica(next.cycle!.ReferencePoint)) >= 2);
    } finally {
      await hosts.dispose();
    }
  });

  it('a resync interrupted by the replica server dying continues on the next attempt; nothing half-applied', async () => {
    const hosts = await TwoHosts.create({ disks: [64 * MiB, 64 * MiB] });
    try {
      const server = await hosts.startServer();
      await hosts.workload(['--seed=81', '--bytes=8MiB']);
      const initial = await hosts.replicate();
      assert.equal(initial.cycle?.Kind, 'initial');
      await loseTracking(hosts, 82, '48MiB');
      const required = await hosts.replicate();
      assert.equal(required.json.error?.code, 'ERR_RESYNC_REQUIRED', 'automatic resync is off by default');
      assert.equal((await relationship(hosts, 'get')).ReplicationState, 'WaitingForStartResynchronize');

      // The server answered the resync's manifest: computed, or brought up from the one it keeps in the background.
      const computed = () => server.stderr.split(/manifest computed|manifest from the kept one/).length - 1;
      const running = cli(['replication', 'resume', '--vm-name=vm1', '--resynchronize', `--state-dir=${hosts.primaryState}`]);
      for (let i = 0; i < 3000 && computed() === 0; i += 1) await new Promise((r) => setTimeout(r, 5));
      assert.ok(computed() > 0, `the server never served a manifest:\n${server.stderr}`);
      await server.kill();
      const failed = await running;
      assert.notEqual(failed.code, 0, 'the replica died before acknowledging the resync');
      assert.equal((await relationship(hosts, 'get')).ReplicationState, 'Resynchronizing');
      // Nothing of the interrupted resync reached the replica's content.
      const storage = await openVhdxReplicaStorage(hosts.replicaDir);
      const status = await storage.status();
      assert.deepEqual([status.position?.toString(), status.referencePoint], ['1/0@0', initial.cycle!.ReferencePoint]);
      assert.equal((await hosts.host.getVm(hosts.vmId)).referencePoints.filter((p) => p.state === 'frozen').length, 0, 'the failed attempt discarded its point');

      await hosts.startServer();
      const continued = await hosts.replicate();
      assert.equal(continued.code, 0, JSON.stringify(continued.json));
      assert.equal(continued.cycle?.Kind, 'resync');
      assert.equal((await relationship(hosts, 'get')).ReplicationState, 'Replicating');
      assert.equal(await hosts.server!.stop(), 0);
      assert.ok((await hosts.verifyReplica(continued.cycle!.ReferencePoint)) >= 2);
    } finally {
      await hosts.dispose();
    }
  });

  it('the replica restored from an older copy refuses the next delta as out of sequence: automatic resync', async () => {
    const hosts = await TwoHosts.create({ disks: [16 * MiB, 8 * MiB] });
    try {
      await setAutoResync(hosts, 0, 86399);
      await hosts.startServer();
      await hosts.workload(['--seed=101', '--bytes=4MiB']);
      assert.equal((await hosts.replicate()).cycle?.Kind, 'initial');
      // The replica's storage is backed up after the initial replication ...
      assert.equal(await hosts.server!.stop(), 0);
      const older = join(hosts.root, 'replica-backup');
      await cp(hosts.replicaDir, older, { recursive: true });
      await hosts.startServer();
      for (const seed of [102, 103]) {
        await hosts.workload([`--seed=${seed}`, '--bytes=512KiB']);
        assert.equal((await hosts.replicate()).cycle?.Kind, 'delta');
      }
      // ... and restored later: it is two cycles behind the primary's reference point.
      assert.equal(await hosts.server!.stop(), 0);
      await rm(hosts.replicaDir, { recursive: true, force: true });
      await cp(older, hosts.replicaDir, { recursive: true });
      await hosts.startServer();
      await hosts.workload(['--seed=104', '--bytes=256KiB']);
      const run = await hosts.replicate();
      assert.equal(run.code, 0, JSON.stringify(run.json));
      assert.deepEqual([run.cycle?.Kind, run.cycle?.Sequence], ['resync', 1], 'compared against what the restored replica holds (1/0)');
      assert.ok(run.cycle!.LogBytes < (24 * MiB) / 4, `${run.cycle!.LogBytes} bytes sent`);
      const next = await hosts.replicate();
      assert.deepEqual([next.cycle?.Kind, next.cycle?.Sequence], ['delta', 2], JSON.stringify(next.json));
      assert.equal(await hosts.server!.stop(), 0);
      assert.ok((await hosts.verifyReplica(next.cycle!.ReferencePoint)) >= 2);
    } finally {
      await hosts.dispose();
    }
  });
});
