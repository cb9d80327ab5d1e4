import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runsAfterResult, workAfterResultSettled } from '../../src/util/work-after-result.js';

describe('work after a result', () => {
  it('is waited for, failures included, with work registered while waiting', async () => {
    const done: string[] = [];
    let release!: () => void;
    runsAfterResult(new Promise<void>((resolve) => (release = resolve)).then(() => {
      done.push('first');
      // Registered by work that is itself being waited for: waited for too.
      runsAfterResult(Promise.resolve().then(() => done.push('second')));
    }));
    runsAfterResult(Promise.reject(new Error('a commit failed; the next cycle finishes it')));
    let settled = false;
    const waiting = workAfterResultSettled().then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false);
    release();
    await waiting;
    assert.deepEqual(done, ['first', 'second']);
    await workAfterResultSettled();
  });
});
