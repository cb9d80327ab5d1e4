/**
 * The lock of small state files (src/replica/state-file-lock.ts, withFileLock) with real processes: a live
 * writer keeps it however old its file is (it used to be broken after 30 s, and two writers then wrote the
 * same file), a crashed writer's is taken at once, also when its id now names an unrelated process, a lock of
 * an earlier version (the id as text) is judged by the id, one naming no holder holds nothing, a writer gives
 * up only a lock that still names it, and concurrent writers in several processes lose no update.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { processStartIdentity } from '../../src/native/process-start.js';
import { withFileLock } from '../../src/replica/atomic-file.js';
import { createHolderFile, readHolderFile, type Holder } from '../../src/util/holder-file.js';
import { deadPid } from './dead-pid.js';
import { holdInChild as holdInChildProcess, type HoldingChild } from './hold-in-child.js';
import { liveStranger, stopStranger } from './reused-pid.js';

const lockModule = new URL('../../src/replica/atomic-file.js', import.meta.url).href;

/** A real process that takes the lock of `file` and holds it until it is killed; resolves once it holds it. */
function holdInChild(file: string): Promise<HoldingChild> {
  return holdInChildProcess(lockModule, 'withFileLock', [file]);
}

/**
 * A process that adds 1 to the number in `file` `rounds` times in each of two concurrent tasks, through
 * withFileLock. Each writer dates its lock an hour back while it holds it, as a writer holding it for that
 * long would leave it: a lock broken by its age would let another writer in, and an update would be lost.
 */
async function countInChild(file: string, rounds: number): Promise<void> {
  const script =
    `const { withFileLock } = await import(${JSON.stringify(lockModule)});` +
    `const { readFile, utimes, writeFile } = await import('node:fs/promises');` +
    `const file = ${JSON.stringify(file)};` +
    `const old = new Date(Date.now() - 3600_000);` +
    `const add = () => withFileLock(file, async () => {` +
    `  const n = Number(await readFile(file, 'utf8').catch(() => '0'));` +
    `  await utimes(file + '.lock', old, old);` +
    `  await new Promise((r) => setTimeout(r, 2));` +
    `  await writeFile(file, String(n + 1));` +
    `}, { waitMs: 120_000 });` +
    `const task = async () => { for (let i = 0; i < ${rounds}; i += 1) await add(); };` +
    `await Promise.all([task(), task()]);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'inherit', 'inherit'] });
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, 'the counting process ended well');
}

const isBusy = (error: Error & { code?: string }) => error.code === 'ERR_BUSY';

describe('state file lock', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hvr-state-lock-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('held by a live writer for longer than the 30 s that used to break it is not broken: ERR_BUSY names the writer', async () => {
    const file = join(dir, 'live.json');
    const writer = await holdInChild(file);
    try {
      const old = new Date(Date.now() - 3600_000);
      await utimes(`${file}.lock`, old, old);
      await assert.rejects(withFileLock(file, async () => 'ran', { waitMs: 300 }), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_BUSY');
        assert.match(error.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is being changed by process ${writer.pid} on .* \\(changing live\\.json, since `));
        assert.ok(error.message.includes(`if process ${writer.pid} hangs, stop it (its file ${file}.lock is then taken over)`), error.message);
        return true;
      });
      const still = await readHolderFile(`${file}.lock`);
      assert.deepEqual([still?.pid, still?.start], [writer.pid, writer.start], 'the lock still names its writer');
    } finally {
      await writer.kill();
    }
  });

  it('left by a writer that was killed is taken at once (no wait allowed)', async () => {
    const file = join(dir, 'killed.json');
    const writer = await holdInChild(file);
    await writer.kill();
    const ran = await withFileLock(file, async () => (await readHolderFile(`${file}.lock`))?.pid, { waitMs: 0 });
    assert.equal(ran, process.pid);
    assert.equal(await readHolderFile(`${file}.lock`), undefined, 'and given up');
  });

  it('left by a killed writer whose process id now names an unrelated live process is taken at once', async () => {
    const file = join(dir, 'reused.json');
    const writer = await holdInChild(file);
    await writer.kill();
    const stranger = await liveStranger(writer.start);
    try {
      const left = JSON.parse(await readFile(`${file}.lock`, 'utf8')) as Holder;
      await writeFile(`${file}.lock`, JSON.stringify({ ...left, pid: stranger.pid }));
      assert.equal(await withFileLock(file, async () => (await readHolderFile(`${file}.lock`))?.pid, { waitMs: 0 }), process.pid);
    } finally {
      await stopStranger(stranger);
    }
  });

  it('of an earlier version (the process id as text) is judged by the id alone', async () => {
    const file = join(dir, 'earlier.json');
    await writeFile(`${file}.lock`, String(process.ppid));
    await assert.rejects(withFileLock(file, async () => 'ran', { waitMs: 200 }), (error: Error & { code?: string }) => {
      assert.ok(isBusy(error));
      assert.ok(error.message.includes(`if process ${process.ppid} is not an hvreplica process, delete ${file}.lock`), error.message);
      return true;
    });
    assert.equal(await readFile(`${file}.lock`, 'utf8'), String(process.ppid), 'left to its writer');
    await writeFile(`${file}.lock`, String(await deadPid()));
    assert.equal(await withFileLock(file, async () => 'ran', { waitMs: 0 }), 'ran', 'its process gone, it is taken');
  });

  for (const [what, text] of [
    ['empty', ''],
    ['torn', '{"pid":12'],
  ] as const) {
    it(`that names no holder (${what}) holds nothing and is taken`, async () => {
      const file = join(dir, `broken-${what}.json`);
      await writeFile(`${file}.lock`, text);
      assert.equal(await withFileLock(file, async () => (await readHolderFile(`${file}.lock`))?.pid, { waitMs: 0 }), process.pid);
      assert.equal(await readHolderFile(`${file}.lock`), undefined);
    });
  }

  it('is given up by its writer only while it still names that writer', async () => {
    const file = join(dir, 'taken-over.json');
    const stranger = await liveStranger();
    try {
      const other: Holder = { pid: stranger.pid!, start: processStartIdentity(stranger.pid!)!, purpose: 'changing taken-over.json', since: '2026-12-07T00:00:00.000Z' };
      await withFileLock(file, async () => {
        // Deleted by an administrator while this writer stalled, and taken by another process's writer.
        await rm(`${file}.lock`);
        assert.equal(await createHolderFile(`${file}.lock`, other), true);
      });
      assert.deepEqual(await readHolderFile(`${file}.lock`), other, "the other writer's lock stays");
    } finally {
      await stopStranger(stranger);
    }
  });

  it('queues the writers of one process (its own id in the lock is no stale lock to them), and one that takes it again inside its body gets ERR_BUSY', async () => {
    const file = join(dir, 'in-process.json');
    const order: string[] = [];
    let letFirstGo!: () => void;
    const gate = new Promise<void>((resolve) => (letFirstGo = resolve));
    const first = withFileLock(file, async () => {
      order.push('first in');
      await gate;
      order.push('first out');
    });
    const second = withFileLock(file, async () => {
      order.push('second');
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(order, ['first in'], 'the second waits for the first');
    letFirstGo();
    await Promise.all([first, second]);
    assert.deepEqual(order, ['first in', 'first out', 'second']);

    const nested = withFileLock(file, () => withFileLock(file, async () => 'inner', { waitMs: 200 }));
    await assert.rejects(nested, (error: Error & { code?: string }) => isBusy(error) && error.message.includes('another task of this process'));
    assert.equal(await readHolderFile(`${file}.lock`), undefined, 'the outer writer gave it up');
    assert.equal(await withFileLock(file, async () => 'after', { waitMs: 0 }), 'after');
  });

  it('lets concurrent writers in several processes lose no update, however old their lock looks', async () => {
    const file = join(dir, 'counter');
    const processes = 4;
    const rounds = 15;
    await Promise.all(Array.from({ length: processes }, () => countInChild(file, rounds)));
    assert.equal(Number(await readFile(file, 'utf8')), processes * rounds * 2);
  });
});
