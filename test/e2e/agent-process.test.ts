/** `hvreplica agent run` as a process: it schedules the host's primary relationships and stops cleanly on SIGTERM. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { it } from 'node:test';
import { CLI_PATH } from '../../src/demo/server-process.js';
import { MiB, TwoHosts } from './harness.js';

it('agent run schedules the primary relationships and exits 0 with a report on SIGTERM', async () => {
  const hosts = await TwoHosts.create({ disks: [8 * MiB] });
  const child = spawn(process.execPath, [CLI_PATH, 'agent', 'run', '--json', `--state-dir=${hosts.primaryState}`], { env: { ...process.env, HVR_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    // 'close': the report on stdout is read whole, which 'exit' does not promise.
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('agent running')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`agent run exited with ${code}:\n${stderr}`)));
    });
    assert.match(stderr, /relationship scheduled.*"vm":"vm1"/);
    assert.match(stderr, /"relationships":1/);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    const report = JSON.parse(stdout) as { ok: boolean; command: string; result: { Cycles: number; FailedCycles: number } };
    assert.equal(report.command, 'agent run');
    assert.deepEqual([report.ok, report.result.Cycles, report.result.FailedCycles], [true, 0, 0]);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await hosts.dispose();
  }
});
