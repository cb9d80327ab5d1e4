/**
 * The replication benchmark at a tiny size: it must complete, leave a replica equal to the primary (and
 * an rsync copy equal to the primary's files), and report every ratio, target and peak-memory figure.
 * Behaviour only: a figure is checked for being a measured positive number, never against a time.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { lastJson, runBench } from './run-bench.js';

interface Report {
  bench: string;
  options: { diskMiB: number; rounds: number };
  ratios: Record<string, number>;
  memory: Record<string, number | string | boolean>;
  targets: Array<{ target: string; value: number; limit: string; met: boolean }>;
  initial: { hvreplica: { logBytes: number } };
  delta: {
    rounds: Array<{ changedBytes: number; hvrChangedBytes: number; hvrLogBytes: number; rsyncWireBytes: number }>;
    agentService: {
      tickSec: number;
      latencySec: number;
      agentCpuSec: number | null;
      peakKiB: number;
      first: { tickSec: number };
      rounds: Array<{ changedBytes: number; cycle: { kind: string; sequence: number; changedBytes: number; logBytes: number; latencySec: number; tickSec: number } }>;
    };
  };
  verified: { replicaEqualsPrimary: boolean; rsyncCopyEqualsPrimary: boolean; primarySha256: string[]; replicaSha256: string[] };
}

describe('bench/replication', () => {
  it('runs at a tiny size: replica equal by hash, ratios, targets and peak memory reported', { timeout: 600_000 }, async () => {
    // The peers are part of the measurement: without them the bench cannot run (a failure, not a skip).
    for (const tool of ['rsync', 'cp', 'sync', 'cat']) {
      assert.equal(spawnSync('sh', ['-c', `command -v ${tool}`]).status, 0, `${tool} is missing: install it (apt-get install rsync coreutils)`);
    }
    const work = tempDir('bench-repl-test');
    try {
      // One agent round (and the agent's first cycle): each waits for the agent's 30 s schedule.
      const { code, stdout, stderr } = await runBench('replication', ['--disk-mib=16', '--rounds=1', '--agent-rounds=1', '--change-percent=2', `--work-dir=${work.path}`]);
      assert.equal(code, 0, `the bench failed:\n${stdout}\n${stderr}`);
      const report = lastJson<Report>(stdout);
      assert.equal(report.bench, 'replication');
      assert.deepEqual([report.options.diskMiB, report.options.rounds], [16, 1]);

      assert.equal(report.verified.replicaEqualsPrimary, true);
      assert.equal(report.verified.rsyncCopyEqualsPrimary, true);
      assert.deepEqual(report.verified.replicaSha256, report.verified.primarySha256);
      assert.match(report.verified.primarySha256[0]!, /^[0-9a-f]{64}$/);

      for (const name of ['initialHvrOverCp', 'initialHvrOverRsync', 'deltaCycleOverCpChanged', 'deltaProcessOverCpChanged', 'deltaRsyncOverCycle', 'deltaRsyncOverProcess', 'deltaWireHvrOverRsync', 'deltaAgentCycleOverCpChanged', 'deltaRsyncOverAgentCycle']) {
        const value = report.ratios[name];
        assert.ok(typeof value === 'number' && Number.isFinite(value) && value > 0, `ratio ${name} = ${value}`);
      }
      for (const name of ['cpInitialKiB', 'rsyncInitialClientKiB', 'rsyncInitialDaemonKiB', 'hvrInitialAgentKiB', 'hvrInitialServerKiB', 'cpDeltaKiB', 'rsyncDeltaClientKiB', 'rsyncDeltaDaemonKiB', 'hvrDeltaAgentKiB', 'hvrDeltaServerKiB']) {
        const value = report.memory[name];
        assert.ok(typeof value === 'number' && Number.isInteger(value) && value > 0, `peak memory ${name} = ${String(value)}`);
      }
      assert.ok(['gnu-time', 'proc-vmhwm'].includes(report.memory.method as string));
      assert.equal(report.targets.length, 11, 'every DESIGN §6 target this bench covers has a verdict');
      for (const t of report.targets) assert.equal(typeof t.met, 'boolean', t.target);

      // The workload changed something, hvreplica listed exactly those bytes, and both tools sent data.
      const round = report.delta.rounds[0]!;
      assert.ok(round.changedBytes > 0);
      assert.ok(round.hvrChangedBytes >= round.changedBytes, 'the checkpoint tracker lists at least every byte the workload changed');
      assert.ok(round.hvrLogBytes > 0 && round.rsyncWireBytes > 0);
      assert.ok(report.initial.hvreplica.logBytes >= 16 * 1024 * 1024, 'the initial log carries the whole (incompressible) disk');

      // The agent service ran its first cycle and one more, each a delta of its round's changes, in sequence
      // after the one-shot rounds; the replica's equality above covers its last cycle.
      const agent = report.delta.agentService;
      assert.equal(agent.rounds.length, 2);
      for (const [i, r] of agent.rounds.entries()) {
        assert.equal(r.cycle.kind, 'delta');
        assert.equal(r.cycle.sequence, 2 + i, 'the initial copy was sequence 0 and the one-shot round 1; the agent goes on from there');
        assert.ok(r.cycle.changedBytes >= r.changedBytes && r.cycle.logBytes > 0);
        assert.ok(r.cycle.latencySec > 0 && r.cycle.tickSec >= r.cycle.latencySec, 'the agent\'s whole cycle includes the span from reference point to acknowledgement');
      }
      assert.ok(agent.tickSec > 0 && agent.latencySec > 0 && agent.first.tickSec > 0 && agent.peakKiB > 0);
      assert.match(stdout, /hvreplica agent run: tick→done/);

      // The human table carries the same verdicts.
      assert.match(stdout, /Targets \(DESIGN §6\)/);
      assert.match(stdout, /Replica equals primary \(SHA-256 per disk at the last point\): yes/);
    } finally {
      work.cleanup();
    }
  });
});
