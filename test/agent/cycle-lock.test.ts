/**
 * The cycle lock (src/agent/cycle-lock.ts) judges its holder by process id and start: a lock left by a killed
 * cycle is taken over also when its id now names an unrelated live process (after a reboot, or a long time),
 * a lock of an earlier version (the id as text) is judged by the id alone as before, one that names no holder
 * (empty or torn) holds nothing, and a holder gives up only a lock that still names it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cycleLockHolder, requestCycleCancel, withCycleLock } from '../../src/agent/cycle-lock.js';
import { processStartIdentity } from '../../src/native/process-start.js';
import { createHolderFile, readHolderFile, type Holder } from '../../src/util/holder-file.js';
import { deadPid } from '../replica/dead-pid.js';
import { holdInChild as holdInChildProcess, type HoldingChild } from '../replica/hold-in-child.js';
import { liveStranger, stopStranger } from '../replica/reused-pid.js';

/** A real process that takes the lock at `path` and holds it until it is killed; resolves once it holds it. */
function holdInChild(path: string): Promise<HoldingChild> {
  return holdInChildProcess(new URL('../../src/agent/cycle-lock.js', import.meta.url).href, 'withCycleLock', [path, 'vm1']);
}

/** The lock file as its killed holder left it, but naming `pid` as if the system had given its id to that process. */
function withPid(text: string, pid: number): string {
  const found: unknown = JSON.parse(text);
  return typeof found === 'number' ? String(pid) : JSON.stringify({ ...(found as object), pid });
}

describe('cycle lock', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hvr-cycle-lock-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('left by a killed cycle whose process id now names an unrelated live process is taken over, and a cancel finds no cycle', async () => {
    const path = join(dir, 'reused.lock');
    const holder = await holdInChild(path);
    await holder.kill();
    const stranger = await liveStranger(holder.start);
    try {
      await writeFile(path, withPid(await readFile(path, 'utf8'), stranger.pid!));
      assert.equal(await cycleLockHolder(path), undefined, 'no cycle runs');
      assert.equal(await requestCycleCancel(path, 'vm1', { waitMs: 1_000 }), undefined, 'a suspend has nothing to wait for');
      const ran = await withCycleLock(path, 'vm1', async () => (await readHolderFile(path))?.pid);
      assert.equal(ran, process.pid, 'the next cycle takes the lock and runs');
      assert.equal(await readHolderFile(path), undefined, 'and lets it go');
    } finally {
      await stopStranger(stranger);
    }
  });

  it('held by a live cycle is refused, naming its process and what it does', async () => {
    const path = join(dir, 'live.lock');
    const holder = await holdInChild(path);
    try {
      const running = await cycleLockHolder(path);
      assert.equal(running?.start, holder.start);
      await assert.rejects(withCycleLock(path, 'vm1', async () => 'ran'), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_BUSY');
        assert.match(error.message, new RegExp(`already running in process ${running!.pid} on .* \\(replication cycle, since `));
        return true;
      });
    } finally {
      await holder.kill();
    }
  });

  it('of an earlier version (the process id as text) is judged by the id alone, as before', async () => {
    const path = join(dir, 'earlier.lock');
    await writeFile(path, String(process.ppid));
    await assert.rejects(withCycleLock(path, 'vm1', async () => 'ran'), (error: Error & { code?: string }) => error.code === 'ERR_BUSY' && error.message.includes(`process ${process.ppid}`));
    assert.equal(await readFile(path, 'utf8'), String(process.ppid), 'left to its holder');
    assert.equal((await requestCycleCancel(path, 'vm1', { waitMs: 100 }).catch((error: Error & { code?: string }) => error.code)), 'ERR_TIMEOUT', 'a cancel waits for it');

    await writeFile(path, String(await deadPid()));
    assert.equal(await withCycleLock(path, 'vm1', async () => 'ran'), 'ran', 'its process gone, it is taken over');
  });

  for (const [what, text] of [
    ['empty', ''],
    ['torn', '{"pid":12'],
    ['not a holder', 'null'],
  ] as const) {
    it(`that names no holder (${what}, as a power loss could leave one) holds nothing and is taken over`, async () => {
      const path = join(dir, `broken-${what.replace(/ /g, '-')}.lock`);
      await writeFile(path, text);
      assert.equal(await cycleLockHolder(path), undefined);
      assert.equal(await withCycleLock(path, 'vm1', async () => (await readHolderFile(path))?.pid), process.pid);
      assert.equal(await readHolderFile(path), undefined);
    });
  }

  it('is given up by its holder only while it still names that holder', async () => {
    const path = join(dir, 'taken-over.lock');
    const stranger = await liveStranger();
    try {
      const other: Holder = { pid: stranger.pid!, start: processStartIdentity(stranger.pid!)!, purpose: 'replication cycle', since: '2026-12-07T00:00:00.000Z' };
      await withCycleLock(path, 'vm1', async () => {
        // Deleted by an administrator while this cycle stalled, and taken by another process's cycle.
        await rm(path);
        assert.equal(await createHolderFile(path, other), true);
      });
      assert.deepEqual(await readHolderFile(path), other, "the other cycle's lock stays");
    } finally {
      await stopStranger(stranger);
    }
  });
});
