/**
 * The storage lock's in-process side: a holder may take the lock it holds again, and the async context
 * that tells it so is tracked only while some holder runs (tracking every promise of the process cost the
 * replica server CPU during uploads, which take no lock).
 */
import assert from 'node:assert/strict';
import { executionAsyncResource } from 'node:async_hooks';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { processStartIdentity } from '../../src/native/process-start.js';
import { storageLockFile, withStorageLock } from '../../src/replica/storage-lock.js';
import { createHolderFile, readHolderFile, type Holder } from '../../src/util/holder-file.js';
import { liveStranger, startOfExitedProcess, stopStranger } from './reused-pid.js';

/**
 * Whether node propagates an AsyncLocalStorage into new async resources right now: the storage's init hook
 * then marks each one with a symbol (node 20's implementation; where node tracks context without hooks this
 * is always false, and there is nothing to turn off).
 */
function contextTracked(): Promise<boolean> {
  return new Promise((resolve) => setImmediate(() => resolve(Object.getOwnPropertySymbols(executionAsyncResource()).some((s) => s.description === 'kResourceStore'))));
}

describe('storage lock in one process', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hvr-lock-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('lets a holder take its own lock again, in every holding after the first', async () => {
    const folder = join(dir, 'a');
    for (let round = 0; round < 2; round += 1) {
      const inner = await withStorageLock(folder, 'outer', () => withStorageLock(folder, 'inner', async () => 'taken again', { waitMs: 200 }));
      assert.equal(inner, 'taken again');
    }
  });

  it('is given up only while it still names its holder: a lock taken over after a stall is left to the process that took it', async () => {
    const folder = join(dir, 'stalled');
    const stranger = await liveStranger();
    try {
      const taker: Holder = { pid: stranger.pid!, start: processStartIdentity(stranger.pid!)!, purpose: 'failover', since: '2026-12-07T00:00:00.000Z' };
      await withStorageLock(folder, 'applying logs', async () => {
        // While this holder stalled its lock was deleted (the advice of an ERR_BUSY) and another process took it.
        await rm(storageLockFile(folder));
        assert.equal(await createHolderFile(storageLockFile(folder), taker), true);
      });
      assert.deepEqual(await readHolderFile(storageLockFile(folder)), taker, "the other process's lock stays");
      await assert.rejects(withStorageLock(folder, 'test failover', async () => undefined, { waitMs: 200 }), (error: Error & { code?: string }) => error.code === 'ERR_BUSY');
    } finally {
      await stopStranger(stranger);
    }
  });

  it('tracks async context only while a holder runs', async () => {
    const folders = [join(dir, 'b'), join(dir, 'c')];
    const seen: boolean[] = [];
    let releaseFirst!: () => void;
    const gate = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    let firstRuns!: () => void;
    const firstStarted = new Promise<void>((resolve) => {
      firstRuns = resolve;
    });
    const first = withStorageLock(folders[0]!, 'first', async () => {
      seen.push(await contextTracked());
      firstRuns();
      await gate;
    });
    // Only once the first holder runs (taking its lock file may take longer than the whole second holding on a
    // busy machine, and then nothing is tracked in between, rightly): a second holder of another folder ends
    // while the first still runs, and the first keeps its context.
    await firstStarted;
    await withStorageLock(folders[1]!, 'second', async () => undefined);
    seen.push(await contextTracked());
    releaseFirst();
    await first;
    assert.deepEqual(seen, [true, true], 'tracked while a holder runs');
    assert.equal(await contextTracked(), false, 'not tracked once every holder is done');
  });
});

describe('storage lock left by a crash', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hvr-lock-crash-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('is taken over when its process id now names an unrelated live process', async () => {
    const folder = join(dir, 'reused');
    const exited = await startOfExitedProcess();
    const stranger = await liveStranger(exited);
    try {
      await writeFile(storageLockFile(folder), JSON.stringify({ pid: stranger.pid, purpose: 'applying logs', since: '2026-12-07T00:00:00.000Z', start: exited, host: 'replica1' }));
      const holder = await withStorageLock(folder, 'test failover', async () => JSON.parse(await readFile(storageLockFile(folder), 'utf8')) as { pid: number; purpose: string }, { waitMs: 200 });
      assert.deepEqual([holder.pid, holder.purpose], [process.pid, 'test failover']);
    } finally {
      await stopStranger(stranger);
    }
  });

  it('of an earlier version, naming only the id of a live process, is refused as before, naming its holder and what to do', async () => {
    const folder = join(dir, 'id-only');
    const lock = JSON.stringify({ pid: process.ppid, purpose: 'applying logs', since: '2026-12-07T00:00:00.000Z' });
    await writeFile(storageLockFile(folder), lock);
    await assert.rejects(withStorageLock(folder, 'test failover', async () => undefined, { waitMs: 200 }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_BUSY');
      assert.ok(error.message.includes(`in use by process ${process.ppid} (applying logs, since 2026-12-07T00:00:00.000Z)`), error.message);
      assert.ok(error.message.includes(`if process ${process.ppid} is not an hvreplica process (server, failover command), delete ${storageLockFile(folder)}`), error.message);
      return true;
    });
    assert.equal(await readFile(storageLockFile(folder), 'utf8'), lock);
  });

  it('that names no holder (empty or torn, as a power loss could leave one) is broken, and the storage used', async () => {
    // One case only: each waits the 5 s grace (the cycle lock's test covers empty and torn files alike).
    for (const [name, text] of [['torn', '{"pid":4242,"purp']] as const) {
      const folder = join(dir, name);
      await writeFile(storageLockFile(folder), text);
      const holder = await withStorageLock(folder, 'test failover', async () => (await readHolderFile(storageLockFile(folder)))?.purpose, { waitMs: 60_000 });
      assert.equal(holder, 'test failover');
      assert.equal(await readHolderFile(storageLockFile(folder)), undefined, 'and given up');
    }
  });
});
