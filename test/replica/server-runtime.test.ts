/**
 * The replica server's runtime file (src/cli/commands/server/runtime-file.ts), which `server get` reports a
 * running server from: it names the server's process by id and start, so a file left by a crash whose id
 * now names an unrelated process reports no server, while one of an earlier version (the id only) is judged
 * by the id as before.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readRuntime, writeRuntime } from '../../src/cli/commands/server/runtime-file.js';
import { processStartIdentity } from '../../src/native/process-start.js';
import { identityOfThisProcess } from '../../src/util/holder-file.js';
import { liveStranger, startOfExitedProcess, stopStranger } from './reused-pid.js';

describe("replica server's runtime file", () => {
  let stateDir: string;
  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'hvr-runtime-'));
    await mkdir(join(stateDir, 'replica'), { recursive: true });
  });
  after(() => rm(stateDir, { recursive: true, force: true }));
  const file = () => join(stateDir, 'replica', 'server.pid.json');

  it('reports the server that wrote it while it runs', async () => {
    await writeRuntime(stateDir, { ...identityOfThisProcess(), port: 4443, startedAt: '2026-12-07T00:00:00.000Z' });
    const runtime = await readRuntime(stateDir);
    assert.deepEqual([runtime?.pid, runtime?.start, runtime?.port], [process.pid, processStartIdentity(process.pid), 4443]);
  });

  it('left by a crash, reports no server once its id names an unrelated live process; of an earlier version, is judged by the id', async () => {
    const exited = await startOfExitedProcess();
    const stranger = await liveStranger(exited);
    try {
      await writeFile(file(), JSON.stringify({ pid: stranger.pid, start: exited, port: 4443, startedAt: '2026-12-07T00:00:00.000Z' }));
      assert.equal(await readRuntime(stateDir), undefined);
      await writeFile(file(), JSON.stringify({ pid: stranger.pid, port: 4443, startedAt: '2026-12-07T00:00:00.000Z' }));
      assert.equal((await readRuntime(stateDir))?.pid, stranger.pid);
      await stopStranger(stranger);
      assert.equal(await readRuntime(stateDir), undefined);
    } finally {
      await stopStranger(stranger);
    }
  });

  it('torn (empty, as a power loss could leave one before it was written durably) reports no server', async () => {
    await writeFile(file(), '');
    assert.equal(await readRuntime(stateDir), undefined);
  });
});
