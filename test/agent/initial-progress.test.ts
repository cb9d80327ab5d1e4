/**
 * The cycle lock's cancel (what `initial stop` and a suspend during a resync use) and how a recorded
 * initial replication reads back: a running copy as a Hyper-V task, a copy whose process is gone as failed.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cancelMarkerFile, requestCycleCancel, withCycleLock } from '../../src/agent/cycle-lock.js';
import { InitialProgressRecorder, initialReplicationTask, observedProgress, readInitialProgress } from '../../src/agent/initial-progress.js';
import { processStartIdentity } from '../../src/native/process-start.js';
import { liveStranger, startOfExitedProcess, stopStranger } from '../replica/reused-pid.js';

const VM = '6f1c6c0e-8f43-4c1b-9d7e-2b1a4f0d9e11';

describe('cycle lock cancel', () => {
  it('aborts the holder\'s signal, waits until it let go, and cleans up its marker', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hvr-lock-'));
    const lock = join(dir, 'vm.cycle.lock');
    try {
      let reason: unknown;
      const running = withCycleLock(lock, 'vm', (signal) => new Promise<string>((resolve) => signal.addEventListener('abort', () => ((reason = signal.reason), resolve('stopped')), { once: true })));
      while (!existsSync(lock)) await new Promise((r) => setTimeout(r, 10));
      assert.equal(await requestCycleCancel(lock, 'vm'), process.pid);
      assert.equal(await running, 'stopped');
      assert.equal((reason as { code?: string }).code, 'ERR_CANCELLED');
      assert.equal(existsSync(lock), false);
      assert.equal(existsSync(cancelMarkerFile(lock)), false);
      assert.equal(await requestCycleCancel(lock, 'vm'), undefined, 'nothing runs: nothing to stop');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('initial replication progress', () => {
  it('records transfer progress and reads it back as the InitialReplication task', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hvr-progress-'));
    try {
      const recorder = new InitialProgressRecorder(dir, VM, { Method: 'OverNetwork', LogFile: null });
      await recorder.begin();
      recorder.update({ phase: 'spool', bytes: 4096, total: undefined });
      recorder.update({ phase: 'upload', bytes: 1024, total: 4096 });
      assert.deepEqual(initialReplicationTask(recorder.current).map((t) => [t.Name, t.PercentComplete, t.BytesTransferred, t.BytesTotal]), [['InitialReplication', 25, 1024, 4096]]);
      await recorder.end('Completed');
      const stored = (await readInitialProgress(dir, VM))!;
      assert.deepEqual([stored.Status, stored.BytesTransferred, stored.Pid], ['Completed', 1024, process.pid]);
      assert.deepEqual(initialReplicationTask(stored), [], 'a finished copy is no running task');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a copy still "Running" whose process is gone reads as failed, with the reason', () => {
    const running = { Pid: 4242, Method: 'OverNetwork' as const, StartTime: new Date().toISOString(), SpooledBytes: 0, BytesTransferred: 0, BytesTotal: null, Status: 'Running' as const, Error: null, EndTime: null, LogFile: '/x/initial.log' };
    assert.equal(observedProgress(running, () => true).Status, 'Running');
    const dead = observedProgress(running, () => false);
    assert.equal(dead.Status, 'Failed');
    assert.match(dead.Error!, /process 4242 ended without finishing.*\/x\/initial\.log/);
  });

  it('a copy still "Running" whose process id now names an unrelated live process reads as failed; one recorded by an earlier version is judged by the id', async () => {
    const exited = await startOfExitedProcess();
    const stranger = await liveStranger(exited);
    try {
      const running = { Pid: stranger.pid!, PidStart: exited, Method: 'OverNetwork' as const, StartTime: new Date().toISOString(), SpooledBytes: 0, BytesTransferred: 0, BytesTotal: null, Status: 'Running' as const, Error: null, EndTime: null, LogFile: null };
      assert.equal(observedProgress(running).Status, 'Failed');
      assert.equal(observedProgress({ ...running, PidStart: processStartIdentity(stranger.pid!)! }).Status, 'Running', 'that very process still copies');
      const { PidStart: _none, ...earlier } = running;
      assert.equal(observedProgress(earlier).Status, 'Running');
    } finally {
      await stopStranger(stranger);
    }
  });

  it('a copy records its process by id and start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hvr-progress-'));
    try {
      const recorder = new InitialProgressRecorder(dir, VM, { Method: 'OverNetwork', LogFile: null });
      await recorder.begin();
      const stored = (await readInitialProgress(dir, VM))!;
      assert.deepEqual([stored.Pid, stored.PidStart], [process.pid, processStartIdentity(process.pid)]);
      await recorder.end('Completed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
