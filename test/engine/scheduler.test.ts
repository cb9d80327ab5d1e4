import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReplicationScheduler, type ReplicationFrequency, type SchedulerTimer, type Steppable } from '../../src/engine/scheduler.js';

/** A timer fired by hand: tests step time instead of waiting for it. */
class ManualTimer implements SchedulerTimer {
  armed: Array<{ callback: () => void; ms: number; handle: number }> = [];
  private next = 1;
  set(callback: () => void, ms: number): unknown {
    const handle = this.next++;
    this.armed.push({ callback, ms, handle });
    return handle;
  }
  clear(handle: unknown): void {
    this.armed = this.armed.filter((t) => t.handle !== handle);
  }
  fire(): void {
    const timer = this.armed.shift();
    assert.ok(timer, 'a timer is armed');
    timer.callback();
  }
}

/** A target whose cycles end when the test says so. */
class GatedTarget implements Steppable<number> {
  started = 0;
  active = 0;
  maxActive = 0;
  signals: AbortSignal[] = [];
  private gates: Array<{ resolve: (n: number) => void; reject: (e: unknown) => void }> = [];
  syncOnce(signal?: AbortSignal): Promise<number> {
    this.started += 1;
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    if (signal) this.signals.push(signal);
    return new Promise<number>((resolve, reject) => {
      this.gates.push({ resolve, reject });
      signal?.addEventListener('abort', () => reject(signal.reason));
    }).finally(() => {
      this.active -= 1;
    });
  }
  finish(value = 1): void {
    this.gates.shift()!.resolve(value);
  }
  fail(error: unknown): void {
    this.gates.shift()!.reject(error);
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ReplicationScheduler', () => {
  it('ticks at the replication frequency', () => {
    for (const frequency of [30, 300, 900] as const) {
      const timer = new ManualTimer();
      const scheduler = new ReplicationScheduler(new GatedTarget(), { frequencySeconds: frequency, timer });
      scheduler.start();
      assert.equal(timer.armed[0]!.ms, frequency * 1000);
      void scheduler.stop();
    }
  });

  it('refuses a frequency Hyper-V does not offer', () => {
    assert.throws(
      () => new ReplicationScheduler(new GatedTarget(), { frequencySeconds: 60 as ReplicationFrequency }),
      (error: { code?: string }) => error.code === 'ERR_INVALID_ARGUMENT',
    );
  });

  it('never runs two cycles of one VM at once and counts the skipped ticks as missed', async () => {
    const timer = new ManualTimer();
    const target = new GatedTarget();
    const outcomes: boolean[] = [];
    const scheduler = new ReplicationScheduler(target, { frequencySeconds: 30, timer, onCycle: (o) => outcomes.push(o.ok) });
    scheduler.start();
    timer.fire();
    timer.fire();
    timer.fire();
    assert.equal(target.started, 1);
    assert.equal(scheduler.stats.missed, 2);
    target.finish();
    await settle();
    timer.fire();
    assert.equal(target.started, 2);
    assert.equal(target.maxActive, 1);
    target.fail(new Error('replica unreachable'));
    await settle();
    timer.fire();
    target.finish();
    await settle();
    assert.deepEqual(outcomes, [true, false, true]);
    assert.deepEqual(scheduler.stats, { cycles: 2, failures: 1, missed: 2 });
    await scheduler.stop();
  });

  it('stop() disarms the timer, aborts the running cycle and waits for it', async () => {
    const timer = new ManualTimer();
    const target = new GatedTarget();
    const scheduler = new ReplicationScheduler(target, { frequencySeconds: 300, timer });
    scheduler.start();
    timer.fire();
    assert.equal(target.active, 1);
    await scheduler.stop();
    assert.equal(target.active, 0);
    assert.equal(target.signals[0]!.aborted, true);
    assert.equal(timer.armed.length, 0);
    assert.equal(scheduler.running, false);
    assert.equal(scheduler.stats.failures, 1);
  });

  it('stops when the start signal aborts', async () => {
    const timer = new ManualTimer();
    const controller = new AbortController();
    const scheduler = new ReplicationScheduler(new GatedTarget(), { frequencySeconds: 900, timer });
    scheduler.start(controller.signal);
    assert.equal(scheduler.running, true);
    controller.abort();
    await settle();
    assert.equal(scheduler.running, false);
    assert.equal(timer.armed.length, 0);
  });
});
