/**
 * The sustained-write benchmark at a tiny size (64 MiB disk, 1 MB/s for 30 s, cycles every 30 s): it must
 * complete, leave the replica equal to the primary by hash, and report every figure — cycles completed
 * and due, missed cycles, the data at risk at every sample (never unreadable) and its return to 0 once a
 * cycle took the last writes, peak memory. Behaviour only: no figure is held against a time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { isFigure, lastJson, runBench } from './run-bench.js';

interface Report {
  bench: string;
  options: { diskMiB: number; rateMB: number; durationSec: number; frequencySec: number };
  workload: { bytes: number; distinctBytes: number; achievedMBps: number };
  cycles: { due: number; completed: number; failed: number; missed: number; maximumLatencySec: number | null };
  dataAtRisk: { maxBytes: number; p95Bytes: number; samples: number; unreadableSamples: number; drainedAfterSec: number | null };
  series: Array<[number, number | null]>;
  memory: { agentPeakKiB: number; serverPeakKiB: number };
  targets: Array<{ target: string; value: number; met: boolean }>;
  verified: { replicaEqualsPrimary: boolean; primarySha256: string[]; replicaSha256: string[] };
}

describe('bench/replication/sustained', () => {
  it('runs at a tiny size: cycles and data at risk reported at every sample, replica equal by hash', { timeout: 600_000 }, async () => {
    const work = tempDir('bench-sustained-test');
    try {
      const { code, stdout, stderr } = await runBench('sustained', ['--disk-mib=64', '--rate-mb=1', '--duration-sec=30', `--work-dir=${work.path}`]);
      assert.equal(code, 0, `the bench failed:\n${stdout}\n${stderr}`);
      const report = lastJson<Report>(stdout);
      assert.equal(report.bench, 'sustained');
      assert.deepEqual([report.options.diskMiB, report.options.rateMB, report.options.durationSec, report.options.frequencySec], [64, 1, 30, 30]);

      assert.equal(report.verified.replicaEqualsPrimary, true);
      assert.deepEqual(report.verified.replicaSha256, report.verified.primarySha256);
      assert.match(report.verified.primarySha256[0]!, /^[0-9a-f]{64}$/);

      assert.ok(report.workload.bytes > 0 && report.workload.distinctBytes > 0 && report.workload.distinctBytes <= report.workload.bytes);
      assert.ok(report.cycles.due >= 1 && report.cycles.completed >= 1, `cycles ${report.cycles.completed} of ${report.cycles.due} due`);
      for (const figure of [report.cycles.failed, report.cycles.missed]) assert.ok(Number.isInteger(figure) && figure >= 0);
      assert.ok(isFigure(report.cycles.maximumLatencySec, true), 'a cycle ran and its latency was recorded');

      // The data at risk was read at every sample, rose while the guest wrote, and fell to 0 after a cycle.
      assert.ok(report.dataAtRisk.samples >= 10 && report.series.length === report.dataAtRisk.samples);
      assert.equal(report.dataAtRisk.unreadableSamples, 0);
      assert.ok(report.series.every(([, bytes]) => isFigure(bytes)), 'every sample holds a byte count');
      assert.ok(report.dataAtRisk.maxBytes > 0 && report.dataAtRisk.p95Bytes <= report.dataAtRisk.maxBytes);
      assert.ok(report.dataAtRisk.maxBytes <= report.workload.distinctBytes, 'never more at risk than the guest changed');
      assert.ok(isFigure(report.dataAtRisk.drainedAfterSec), 'a cycle took the last writes: the data at risk came back to 0');
      assert.equal(report.series.at(-1)![1], 0);

      assert.ok(isFigure(report.memory.agentPeakKiB, true) && isFigure(report.memory.serverPeakKiB, true));
      assert.equal(report.targets.length, 8);
      for (const t of report.targets) assert.equal(typeof t.met, 'boolean', t.target);
      assert.match(stdout, /Targets \(DESIGN §6\)/);
      assert.match(stdout, /Replica equals primary \(SHA-256 at the last point\): yes/);
    } finally {
      work.cleanup();
    }
  });
});
