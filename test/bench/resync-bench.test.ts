/**
 * The resync benchmark at a tiny size (16 MiB disk, 2% changed): it must complete, resynchronize the
 * replica to equal the primary by hash, find at least the bytes the workload changed, and report both
 * timings, their ratio, the targets and peak memory. Behaviour only: no figure is held against a time.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { isFigure, lastJson, runBench } from './run-bench.js';

interface Report {
  bench: string;
  options: { diskMiB: number; changePercent: number };
  changedBytes: number;
  cat: { sec: number; bytes: number; files: number };
  resync: { processSec: number; cpuSec: number | null; latencySec: number; comparedBytes: number; differingBytes: number; logBytes: number; agentPeakKiB: number; serverPeakKiB: number };
  ratios: { processOverCat: number; resyncOverCat: number };
  memory: { method: string };
  targets: Array<{ target: string; value: number; met: boolean }>;
  verified: { replicaEqualsPrimary: boolean; stateAfter: string; primarySha256: string[]; replicaSha256: string[] };
}

describe('bench/replication/resync', () => {
  it('runs at a tiny size: replica equal by hash after the resync, timings and ratio reported', { timeout: 600_000 }, async () => {
    for (const tool of ['cat', 'sync']) {
      assert.equal(spawnSync('sh', ['-c', `command -v ${tool}`]).status, 0, `${tool} is missing: install coreutils`);
    }
    const work = tempDir('bench-resync-test');
    try {
      const { code, stdout, stderr } = await runBench('resync', ['--disk-mib=16', '--change-percent=2', `--work-dir=${work.path}`]);
      assert.equal(code, 0, `the bench failed:\n${stdout}\n${stderr}`);
      const report = lastJson<Report>(stdout);
      assert.equal(report.bench, 'resync');
      assert.deepEqual([report.options.diskMiB, report.options.changePercent], [16, 2]);

      assert.equal(report.verified.replicaEqualsPrimary, true);
      assert.deepEqual(report.verified.replicaSha256, report.verified.primarySha256);
      assert.equal(report.verified.stateAfter, 'Replicating');

      assert.ok(report.changedBytes > 0);
      assert.equal(report.resync.comparedBytes, 16 * 1024 * 1024, 'the resync compares the whole disk');
      assert.ok(report.resync.differingBytes >= report.changedBytes && report.resync.differingBytes < report.resync.comparedBytes, 'it finds every change and sends less than the disk');
      assert.ok(report.cat.bytes >= 2 * 16 * 1024 * 1024 && report.cat.files >= 2, 'cat read both copies');
      for (const figure of [report.cat.sec, report.resync.processSec, report.resync.latencySec, report.resync.logBytes, report.resync.agentPeakKiB, report.resync.serverPeakKiB, report.ratios.processOverCat, report.ratios.resyncOverCat]) {
        assert.ok(isFigure(figure, true), `figure ${figure}`);
      }
      // The resync process's CPU comes from GNU time, as its peak memory does; without it there is none to report.
      if (report.memory.method === 'gnu-time') assert.ok(isFigure(report.resync.cpuSec, true), `resync CPU ${report.resync.cpuSec}`);
      else assert.equal(report.resync.cpuSec, null);
      assert.equal(report.targets.length, 5);
      for (const t of report.targets) assert.equal(typeof t.met, 'boolean', t.target);
      assert.match(stdout, /Replica equals primary \(SHA-256 at the resync's point\): yes/);
    } finally {
      work.cleanup();
    }
  });
});
