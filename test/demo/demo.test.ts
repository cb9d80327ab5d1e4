/**
 * `hvreplica demo --json` run for real as a user runs it (a child process that itself starts a replica
 * server), on small disks: it must prove what it claims, and its summary must carry the figures.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { it } from 'node:test';
import { cliPath } from '../helpers/paths.js';

interface Summary {
  Verified: boolean;
  Folder: string | null;
  Cycles: number;
  BytesSent: number;
  InitialReplicationBytes: number;
  DeltaBytes: number;
  WorkloadBytesWritten: number;
  RecoveryPoints: Array<{ Sequence: number; Equal: boolean }>;
  Hashes: Array<{ PrimarySha256: string; ReplicaSha256: string; Equal: boolean }>;
  ReplicationState: string;
  SuccessfulReplicationCount: number;
  Failover: { ReplicaState: string; FailedOverReplicationType: string; Equal: boolean; Hashes: Array<{ PrimarySha256: string; ReplicaSha256: string }> };
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    // 'close': all of stdout read, which 'exit' does not promise.
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

it('demo --json replicates, runs delta cycles under a workload and proves every point equal', async () => {
  const result = await run(['demo', '--json', '--disk-size-mib=16', '--delta-cycles=2']);
  assert.equal(result.code, 0, result.stderr);
  const envelope = JSON.parse(result.stdout) as { ok: boolean; command: string; result: Summary };
  assert.equal(envelope.ok, true);
  assert.equal(envelope.command, 'demo');
  const s = envelope.result;
  assert.equal(s.Verified, true);
  assert.equal(s.Folder, null, 'the temporary folder is removed');
  // Initial, two deltas and the planned failover's last cycle.
  assert.equal(s.Cycles, 4);
  assert.equal(s.SuccessfulReplicationCount, 4);
  assert.equal(s.ReplicationState, 'PreparedForFailover');
  assert.equal(s.Failover.ReplicaState, 'FailedOverWaitingCompletion');
  assert.equal(s.Failover.FailedOverReplicationType, 'Planned');
  assert.equal(s.Failover.Equal, true);
  assert.equal(s.Failover.Hashes.length, 2);
  for (const h of s.Failover.Hashes) assert.equal(h.ReplicaSha256, h.PrimarySha256);
  assert.equal(s.BytesSent, s.InitialReplicationBytes + s.DeltaBytes);
  assert.ok(s.InitialReplicationBytes > 0 && s.DeltaBytes > 0 && s.WorkloadBytesWritten > 0);
  // The planned cycle (sequence 3) is a point of its own only when the server sealed it before the failover.
  const points = s.RecoveryPoints.map((p) => [p.Sequence, p.Equal]);
  assert.deepEqual(points.slice(0, 3), [[0, true], [1, true], [2, true]]);
  assert.ok(points.length === 3 || (points.length === 4 && points[3]![1] === true), JSON.stringify(points));
  assert.equal(s.Hashes.length, 2);
  for (const h of s.Hashes) {
    assert.match(h.PrimarySha256, /^[0-9a-f]{64}$/);
    assert.equal(h.ReplicaSha256, h.PrimarySha256);
  }
  assert.match(result.stderr, /Initial replication/, 'the narration goes to stderr with --json');
});

it('demo refuses options out of range with a usage error', async () => {
  const result = await run(['demo', '--json', '--disk-size-mib=3']);
  assert.equal(result.code, 2);
  const envelope = JSON.parse(result.stdout) as { ok: boolean; error: { code: string; message: string } };
  assert.equal(envelope.error.code, 'ERR_INVALID_ARGUMENT');
  assert.match(envelope.error.message, /disk-size-mib/);
});
