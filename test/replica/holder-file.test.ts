/**
 * Holder files (src/replica/holder-file.ts), under the storage lock and the replica server's claim: a file
 * left by a crash is taken over by one process only, even when several read its dead holder at once, also
 * when its process id now names an unrelated live process, and a takeover guard left by a crash is broken.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deadPid } from './dead-pid.js';
import { processStartIdentity } from '../../src/native/process-start.js';
import { createHolderFile, holderGone, holderOfThisProcess, processRuns, readHolderFile, releaseHolderFile, removeHolderFileIf, TAKEOVER_GUARD_BOUND_MS, type Holder } from '../../src/util/holder-file.js';
import { liveStranger, startOfExitedProcess, stopStranger } from './reused-pid.js';

describe('holder files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hvr-holder-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('is created once, whole, and leaves nothing beside it', async () => {
    const path = join(dir, 'once.lock');
    const me: Holder = { pid: process.pid, purpose: 'test', since: '2026-12-07T00:00:00.000Z' };
    assert.equal(await createHolderFile(path, me), true);
    assert.equal(await createHolderFile(path, { ...me, purpose: 'second' }), false);
    assert.deepEqual(await readHolderFile(path), me);
    assert.deepEqual(await readdir(dir), ['once.lock']);
  });

  it('is readable by every local user, as before it was written durably', async () => {
    const path = join(dir, 'mode.lock');
    assert.equal(await createHolderFile(path, holderOfThisProcess('test')), true);
    assert.equal((await stat(path)).mode & 0o777 & ~process.umask(), 0o644 & ~process.umask());
    await rm(path);
  });

  it('is given up only while it still names the holder giving it up', async () => {
    const path = join(dir, 'release.lock');
    const me = holderOfThisProcess('test');
    assert.equal(await createHolderFile(path, me), true);
    await releaseHolderFile(path, me);
    assert.equal(await readHolderFile(path), undefined);
    const other: Holder = { ...me, pid: process.ppid, since: '2026-12-07T03:00:00.000Z' };
    assert.equal(await createHolderFile(path, other), true);
    await releaseHolderFile(path, me);
    assert.deepEqual(await readHolderFile(path), other, "another holder's file stays");
    await writeFile(path, '');
    await releaseHolderFile(path, me);
    assert.equal((await stat(path)).size, 0, 'and so does one that names no holder');
    await rm(path);
  });

  it('of an earlier version naming the process id only is read as that process, judged by the id alone', async () => {
    const path = join(dir, 'earlier.lock');
    await writeFile(path, `${process.ppid}\n`);
    const holder = await readHolderFile(path);
    assert.equal(holder?.pid, process.ppid);
    assert.equal(holder?.start, undefined);
    assert.equal(processRuns(holder!), true);
    await writeFile(path, String(await deadPid()));
    assert.equal(processRuns((await readHolderFile(path))!), false);
    await rm(path);
  });

  it('of a crashed holder is removed by the first of two that read it, and the claim made after is left to its maker', async () => {
    const path = join(dir, 'crashed.lock');
    const crashed: Holder = { pid: await deadPid(), purpose: 'replica server', since: '2026-12-07T00:00:00.000Z' };
    await writeFile(path, JSON.stringify(crashed));
    // Both A and B read the crashed holder; A takes over first and claims, then B acts on what it read.
    const seenByA = await readHolderFile(path);
    const seenByB = await readHolderFile(path);
    assert.deepEqual(seenByA, crashed);
    assert.equal(await removeHolderFileIf(path, seenByA), true);
    const a: Holder = { pid: process.ppid, purpose: 'replica server', since: '2026-12-07T01:00:00.000Z' };
    assert.equal(await createHolderFile(path, a), true);
    assert.equal(await removeHolderFileIf(path, seenByB), true, 'B may try again: nothing holds a takeover');
    assert.deepEqual(await readHolderFile(path), a, "B must not remove A's fresh claim");
    assert.equal(await createHolderFile(path, { ...a, pid: process.pid }), false, 'so B finds it held');
  });

  it('left torn (unreadable) is removed only while it stays unreadable', async () => {
    const path = join(dir, 'torn.lock');
    await writeFile(path, '');
    assert.equal(await removeHolderFileIf(path, undefined), true);
    assert.equal(await readHolderFile(path), undefined);
    const fresh: Holder = { pid: process.ppid, purpose: 'replica server', since: '2026-12-07T02:00:00.000Z' };
    assert.equal(await createHolderFile(path, fresh), true);
    assert.equal(await removeHolderFileIf(path, undefined), true);
    assert.deepEqual(await readHolderFile(path), fresh);
  });

  it('waits while a live process takes it over, and breaks a takeover its crashed process left', async () => {
    const path = join(dir, 'guarded.lock');
    const crashed: Holder = { pid: await deadPid(), purpose: 'replica server', since: '2026-12-07T00:00:00.000Z' };
    await writeFile(path, JSON.stringify(crashed));
    await writeFile(`${path}.takeover`, JSON.stringify({ pid: process.ppid, purpose: `taking over ${path}`, since: '2026-12-07T00:00:00.000Z' }));
    assert.equal(await removeHolderFileIf(path, crashed), false);
    assert.deepEqual(await readHolderFile(path), crashed, 'left while the other takes it over');
    await writeFile(`${path}.takeover`, JSON.stringify({ pid: crashed.pid, purpose: `taking over ${path}`, since: '2026-12-07T00:00:00.000Z' }));
    assert.equal(await removeHolderFileIf(path, crashed), true, 'the dead takeover is broken, and the holder taken over');
    assert.equal(await readHolderFile(path), undefined);
    assert.equal(JSON.stringify((await readdir(dir)).filter((f) => f.startsWith('guarded'))), '[]');
  });

  it("knows a process by its id and start: the same while it runs, another for another process, none once it exited", async () => {
    const mine = processStartIdentity(process.pid);
    assert.ok(mine, 'this system tells when a process started');
    assert.equal(processStartIdentity(process.pid), mine);
    assert.notEqual(processStartIdentity(process.ppid), mine);
    assert.equal(processStartIdentity(await deadPid()), undefined);
    assert.equal(holderOfThisProcess('test').start, mine);
  });

  it('is judged gone when its id now names an unrelated live process, and judged by the id alone when it names no start', async () => {
    const exited = await startOfExitedProcess();
    const stranger = await liveStranger(exited);
    try {
      const since = '2026-12-07T00:00:00.000Z';
      const reused: Holder = { pid: stranger.pid!, purpose: 'replica server', since, start: exited };
      assert.equal(holderGone(reused), true, 'the id was given to another process after its holder exited');
      assert.equal(holderGone({ ...reused, start: processStartIdentity(stranger.pid!)! }), false, 'that very process still runs');
      const { start: _none, ...idOnly } = reused;
      assert.equal(holderGone(idOnly), false, 'a file of an earlier version names only the id: its process may be the holder');
      await stopStranger(stranger);
      assert.equal(holderGone(reused), true);
      assert.equal(holderGone(idOnly), true);
    } finally {
      await stopStranger(stranger);
    }
  });

  it('taken over by a crashed claimant whose id now names a live stranger, or left torn long ago, is broken; a fresh torn one is waited for', async () => {
    const exited = await startOfExitedProcess();
    const stranger = await liveStranger(exited);
    try {
      const path = join(dir, 'stale-guard.lock');
      const guard = `${path}.takeover`;
      const crashed: Holder = { pid: await deadPid(), purpose: 'replica server', since: '2026-12-07T00:00:00.000Z' };
      await writeFile(path, JSON.stringify(crashed));
      await writeFile(guard, JSON.stringify({ pid: stranger.pid, purpose: `taking over ${path}`, since: '2026-12-07T00:00:00.000Z', start: exited }));
      assert.equal(await removeHolderFileIf(path, crashed), true);
      assert.equal(await readHolderFile(path), undefined);

      // Torn by a power loss (linked files are not flushed): nobody can tell who wrote it, so only its age breaks it.
      await writeFile(path, JSON.stringify(crashed));
      await writeFile(guard, '');
      assert.equal(await removeHolderFileIf(path, crashed), false, 'a fresh guard may be a takeover under way');
      assert.deepEqual(await readHolderFile(path), crashed);
      const old = new Date(Date.now() - 2 * TAKEOVER_GUARD_BOUND_MS);
      await utimes(guard, old, old);
      assert.equal(await removeHolderFileIf(path, crashed), true);
      assert.equal(await readHolderFile(path), undefined);

      // An earlier version's guard names the id only: a live stranger with it keeps it only while it is young.
      await writeFile(path, JSON.stringify(crashed));
      await writeFile(guard, JSON.stringify({ pid: stranger.pid, purpose: `taking over ${path}`, since: '2026-12-07T00:00:00.000Z' }));
      assert.equal(await removeHolderFileIf(path, crashed), false);
      await utimes(guard, old, old);
      assert.equal(await removeHolderFileIf(path, crashed), true);
      assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('stale-guard')), []);
    } finally {
      await stopStranger(stranger);
    }
  });

  it('taken over by a claimant that crashed while breaking a crashed takeover is broken too', async () => {
    const path = join(dir, 'nested.lock');
    const crashed: Holder = { pid: await deadPid(), purpose: 'replica server', since: '2026-12-07T00:00:00.000Z' };
    const start = await startOfExitedProcess();
    await writeFile(path, JSON.stringify(crashed));
    await writeFile(`${path}.takeover`, JSON.stringify({ ...crashed, purpose: `taking over ${path}`, start }));
    await writeFile(`${path}.takeover.takeover`, JSON.stringify({ ...crashed, purpose: `taking over ${path}.takeover`, start }));
    assert.equal(await removeHolderFileIf(path, crashed), true);
    assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('nested')), []);
  });
});
