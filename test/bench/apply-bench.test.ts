/**
 * The apply benchmark at a tiny size (16 MiB disk): it must complete, leave the replica reading exactly what
 * the logs wrote, and report dd's rate, the apply rates (full copy; delta into the base and into a new point's layer) and their verdicts. Behaviour only: no figure is
 * held against a time.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { isFigure, lastJson, runBench } from './run-bench.js';

interface Report {
  bench: string;
  options: { diskMiB: number; rounds: number; recordHash: string };
  deltaBytes: number;
  deltaWrites: number;
  rounds: Array<{ ddSec: number; applyFullSec: number; applyDeltaSec: number; plainDeltaSec: number; applyDeltaLayerSec: number; appendDeltaSec: number; applyFullCpuSec: number; applyDeltaCpuSec: number; applyDeltaLayerCpuSec: number }>;
  sequentialMiBs: number;
  full: { applyMiBs: number };
  delta: { applyMiBs: number; plainMiBs: number; applyLayerMiBs: number; appendMiBs: number };
  targets: Array<{ target: string; value: number; met: boolean }>;
  verified: { replicaEqualsModel: boolean | null; modelSha256: string; replicaSha256: string };
}

describe('bench/replication/apply', () => {
  it('runs at a tiny size: the replica reads what the logs wrote, rates and verdicts reported', { timeout: 300_000 }, async () => {
    assert.equal(spawnSync('sh', ['-c', 'command -v dd']).status, 0, 'dd is missing: install coreutils');
    const work = tempDir('bench-apply-test');
    try {
      const { code, stdout, stderr } = await runBench('apply', ['--disk-mib=16', '--rounds=2', '--change-percent=5', `--work-dir=${work.path}`]);
      assert.equal(code, 0, `the bench failed:\n${stdout}\n${stderr}`);
      const report = lastJson<Report>(stdout);
      assert.equal(report.bench, 'apply');
      assert.deepEqual([report.options.diskMiB, report.options.rounds], [16, 2]);
      assert.equal(report.options.recordHash, 'xxh128', 'the logs carry what an agent here sends a server here');
      assert.equal(report.verified.replicaEqualsModel, true);
      assert.equal(report.verified.replicaSha256, report.verified.modelSha256);
      assert.equal(report.rounds.length, 2);
      assert.ok(report.deltaWrites > 0 && report.deltaBytes > 0 && report.deltaBytes < 16 * 1024 * 1024);
      const { delta } = report;
      for (const figure of [report.sequentialMiBs, report.full.applyMiBs, delta.applyMiBs, delta.plainMiBs, delta.applyLayerMiBs, delta.appendMiBs, ...report.rounds.flatMap((r) => [r.ddSec, r.applyFullSec, r.applyDeltaSec, r.plainDeltaSec, r.applyDeltaLayerSec, r.appendDeltaSec, r.applyFullCpuSec, r.applyDeltaCpuSec, r.applyDeltaLayerCpuSec])]) {
        assert.ok(isFigure(figure, true), `figure ${figure}`);
      }
      assert.equal(report.targets.length, 3);
      for (const t of report.targets) assert.equal(typeof t.met, 'boolean', t.target);
      assert.match(stdout, /Replica equals what the logs wrote \(SHA-256 of the disk, last round\): yes/);
      assert.match(stdout, /CPU seconds of the applies \(user \+ system, this process\), median: full copy \d+\.\d\d, delta \d+\.\d{3}/);
    } finally {
      work.cleanup();
    }
  });
});
