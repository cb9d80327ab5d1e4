/**
 * Holder files (src/replica/holder-file.ts), under the storage lock and the replica server's claim: a file
 * left by a crash is taken over by one process only, even when several read its dead holder at once.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deadPid } from './dead-pid.js';
import { createHolderFile, readHolderFile, removeHolderFileIf, type Holder } from '../../src/replica/holder-file.js';

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
    assert.equal(await removeHolderFileIf(path, crashed), false, 'the dead takeover goes first');
    assert.equal(await removeHolderFileIf(path, crashed), true);
    assert.equal(await readHolderFile(path), undefined);
    assert.equal(JSON.stringify((await readdir(dir)).filter((f) => f.startsWith('guarded'))), '[]');
  });
});
