/**
 * The memory benchmark at a small size (a 1 GiB disk with a few pieces): it must complete an initial copy and
 * a delta cycle, find the replica equal to the primary over every written piece and the space between, and
 * report the peak memory of the agent and the server for each phase. Behaviour only: no figure is held
 * against a time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { isFigure, lastJson, runBench } from './run-bench.js';

interface Report {
  bench: string;
  options: { diskMiB: number; pieces: number; deltaPieces: number };
  phases: Array<{ kind: string; processSec: number; cycleSec: number; logBytes: number; agentPeakKiB: number; serverPeakKiB: number; warnings: string[] }>;
  targets: Array<{ target: string; value: number; met: boolean }>;
  verified: { equal: boolean; ranges: number; differing: number };
}

describe('bench/replication/memory', () => {
  it('runs at a small size: initial and delta, replica equal over the pieces, peaks reported', { timeout: 600_000 }, async () => {
    const work = tempDir('bench-memory-test');
    try {
      const { code, stdout, stderr } = await runBench('memory', ['--disk-mib=1024', '--pieces=4', '--piece-mib=2', '--delta-pieces=4', '--delta-piece-mib=1', `--work-dir=${work.path}`]);
      assert.equal(code, 0, `the bench failed:\n${stdout}\n${stderr}`);
      const report = lastJson<Report>(stdout);
      assert.equal(report.bench, 'memory');
      assert.deepEqual([report.options.diskMiB, report.options.pieces, report.options.deltaPieces], [1024, 4, 4]);
      assert.deepEqual(report.phases.map((p) => p.kind), ['initial', 'delta']);
      assert.deepEqual(report.verified, { equal: true, ranges: 4 + 4 + 7, differing: 0 });
      const [initial, delta] = report.phases;
      assert.ok(initial!.logBytes >= 8 * 1024 * 1024 && initial!.logBytes < 16 * 1024 * 1024, `the initial copy sends the written pieces, not the disk: ${initial!.logBytes}`);
      assert.ok(delta!.logBytes >= 4 * 1024 * 1024 && delta!.logBytes < 8 * 1024 * 1024, `the delta sends its pieces: ${delta!.logBytes}`);
      for (const p of report.phases) {
        for (const figure of [p.processSec, p.cycleSec, p.agentPeakKiB, p.serverPeakKiB]) assert.ok(isFigure(figure, true), `${p.kind} figure ${figure}`);
      }
      assert.equal(report.targets.length, 2);
      for (const t of report.targets) assert.equal(typeof t.met, 'boolean', t.target);
      assert.match(stdout, /Replica equals primary over 15 written and never-written ranges at the last point: yes/);
    } finally {
      work.cleanup();
    }
  });
});
