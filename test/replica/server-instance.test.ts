/**
 * One replica server per state directory (src/replica/server-instance.ts): the claim itself, and a second
 * `hvreplica server run` on a running server's state directory refused while the first keeps serving.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pairHosts } from '../../src/demo/pairing.js';
import { freePort, ServerProcess } from '../../src/demo/server-process.js';
import { ReplicaConfigStore } from '../../src/replica/index.js';
import { claimServerInstance, releaseExitedServerClaim, serverInstanceFile } from '../../src/replica/server-instance.js';
import { pathExists } from '../../src/util/path-exists.js';
import { deadPid } from './dead-pid.js';
import { liveStranger, startOfExitedProcess, stopStranger } from './reused-pid.js';
import { runCli } from './run-cli.js';

/**
 * Claimers in processes of their own: each says `ready`, spins until `go` exists (so that all of them claim
 * within the same instant), claims `stateDir`, prints `won` or `refused <code>`, and a winner holds its
 * claim until `done` exists.
 */
const CLAIMER = `
const { existsSync } = await import('node:fs');
const [go, done, stateDir, moduleUrl] = process.argv.slice(1);
const { claimServerInstance } = await import(moduleUrl);
console.log('ready');
while (!existsSync(go));
let release;
try { release = await claimServerInstance(stateDir); console.log('won'); } catch (error) { console.log('refused ' + error.code); }
if (release) { while (!existsSync(done)) await new Promise((r) => setTimeout(r, 5)); await release(); }
`;

/** A replica server's claim on `stateDir` made by a process that then crashed (killed, no clean-up). */
async function claimOfCrashedServer(stateDir: string): Promise<{ pid: number; since: string; start?: string; host?: string }> {
  const moduleUrl = new URL('../../src/replica/server-instance.js', import.meta.url).href;
  const script = `const { claimServerInstance } = await import(${JSON.stringify(moduleUrl)}); await claimServerInstance(process.argv[1]); process.kill(process.pid, 'SIGKILL');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, stateDir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const [, signal] = (await new Promise((resolve) => child.once('exit', (...args) => resolve(args)))) as [number | null, string | null];
  assert.equal(signal, 'SIGKILL', 'the claimer crashed after claiming');
  return JSON.parse(await readFile(serverInstanceFile(stateDir), 'utf8')) as { pid: number; since: string; start?: string; host?: string };
}

async function claimAtOnce(stateDir: string, count: number): Promise<string[]> {
  const go = join(stateDir, 'go');
  const done = join(stateDir, 'done');
  const moduleUrl = new URL('../../src/replica/server-instance.js', import.meta.url).href;
  const children = Array.from({ length: count }, () => spawn(process.execPath, ['--input-type=module', '-e', CLAIMER, go, done, stateDir, moduleUrl], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const lines = children.map((child) => {
    let out = '';
    const waiting: Array<() => void> = [];
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      for (const check of waiting) check();
    });
    // The `count`th line the claimer printed.
    const said = (count: number) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const all = out.split('\n');
          if (all.length > count) resolve(all[count - 1]!.trim());
        };
        waiting.push(check);
        child.once('exit', (code) => reject(new Error(`a claimer exited with code ${code} before its line ${count}: ${out}`)));
        check();
      });
    return { ready: said(1), answer: said(2) };
  });
  const exited = children.map((child) => new Promise((resolve) => child.once('exit', resolve)));
  try {
    await Promise.all(lines.map((l) => l.ready));
    await writeFile(go, '');
    return await Promise.all(lines.map((l) => l.answer));
  } finally {
    await writeFile(done, '');
    await Promise.all(exited);
  }
}

/** The test runner's start identity (it runs all along). */
async function startOfRunner(): Promise<string> {
  const { processStartIdentity } = await import('../../src/native/process-start.js');
  return processStartIdentity(process.ppid)!;
}

describe('replica server instance claim', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hvr-instance-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is held while the server runs and given up after', async () => {
    const stateDir = join(dir, 'plain');
    const release = await claimServerInstance(stateDir);
    const holder = JSON.parse(await readFile(serverInstanceFile(stateDir), 'utf8')) as { pid: number };
    assert.equal(holder.pid, process.pid);
    await release();
    assert.equal(await pathExists(serverInstanceFile(stateDir)), false);
  });

  it('is refused while a live process holds it, and the holder is left alone', async () => {
    const stateDir = join(dir, 'held');
    const release = await claimServerInstance(stateDir);
    await release();
    // The test runner that started this process is alive and is not this process.
    const claim = JSON.stringify({ pid: process.ppid, purpose: 'replica server', since: '2026-12-07T00:00:00.000Z' });
    await writeFile(serverInstanceFile(stateDir), claim);
    await assert.rejects(claimServerInstance(stateDir), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_BUSY');
      assert.match(error.message, new RegExp(`process ${process.ppid}`));
      assert.match(error.message, /stop it before starting another/);
      assert.ok(error.message.includes(serverInstanceFile(stateDir)), error.message);
      return true;
    });
    assert.equal(await readFile(serverInstanceFile(stateDir), 'utf8'), claim);
  });

  it('takes over the claim of a server that crashed, and one left unwritten', async () => {
    const stateDir = join(dir, 'crashed');
    const release = await claimServerInstance(stateDir);
    await release();
    await writeFile(serverInstanceFile(stateDir), JSON.stringify({ pid: await deadPid(), purpose: 'replica server', since: '2026-12-07T00:00:00.000Z' }));
    const again = await claimServerInstance(stateDir);
    assert.equal((JSON.parse(await readFile(serverInstanceFile(stateDir), 'utf8')) as { pid: number }).pid, process.pid);
    await again();
    await writeFile(serverInstanceFile(stateDir), '');
    const afterEmpty = await claimServerInstance(stateDir);
    assert.equal((JSON.parse(await readFile(serverInstanceFile(stateDir), 'utf8')) as { pid: number }).pid, process.pid);
    await afterEmpty();
  });

  it('of a server that crashed is taken over when its process id now names an unrelated live process', async () => {
    const stateDir = join(dir, 'reused');
    const crashed = await claimOfCrashedServer(stateDir);
    const stranger = await liveStranger(crashed.start);
    try {
      assert.ok(crashed.start, 'the claim names its process by its start too');
      // After a reboot or a long time the system gave the crashed server's id to the stranger.
      await writeFile(serverInstanceFile(stateDir), JSON.stringify({ ...crashed, pid: stranger.pid }));
      const release = await claimServerInstance(stateDir);
      const holder = JSON.parse(await readFile(serverInstanceFile(stateDir), 'utf8')) as { pid: number };
      assert.equal(holder.pid, process.pid);
      await release();
      assert.equal(stranger.exitCode, null, 'the stranger is left alone');
    } finally {
      await stopStranger(stranger);
    }
  });

  it('names the live server that holds it, its host and since when, and says what to do', async () => {
    const stateDir = join(dir, 'named');
    const release = await claimServerInstance(stateDir);
    try {
      const mine = JSON.parse(await readFile(serverInstanceFile(stateDir), 'utf8')) as { since: string; host: string };
      // Another process's claim as this process would write it: the test runner holds it.
      const claim = JSON.stringify({ pid: process.ppid, purpose: 'replica server', since: mine.since, host: mine.host, start: await startOfRunner() });
      await writeFile(serverInstanceFile(stateDir), claim);
      await assert.rejects(claimServerInstance(stateDir), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_BUSY');
        assert.ok(error.message.includes(`process ${process.ppid} on ${mine.host} (replica server, since ${mine.since})`), error.message);
        assert.match(error.message, new RegExp(`stop it before starting another.*if process ${process.ppid} hangs, stop it`));
        return true;
      });
      assert.equal(await readFile(serverInstanceFile(stateDir), 'utf8'), claim);
    } finally {
      await rm(serverInstanceFile(stateDir), { force: true });
      await release();
    }
  });

  it('of a server that crashed is taken over by one of several servers starting at once', async () => {
    for (let round = 0; round < 3; round += 1) {
      const stateDir = join(dir, `race-${round}`);
      const release = await claimServerInstance(stateDir);
      await release();
      const crashed = await deadPid();
      await writeFile(serverInstanceFile(stateDir), JSON.stringify({ pid: crashed, purpose: 'replica server', since: '2026-12-07T00:00:00.000Z' }));
      const answers = await claimAtOnce(stateDir, 5);
      assert.deepEqual(answers.filter((a) => a === 'won'), ['won'], `one server only may hold the state directory: ${answers.join(', ')}`);
      assert.deepEqual(answers.filter((a) => a !== 'won'), Array(4).fill('refused ERR_BUSY'));
    }
  });

  it('of a server that crashed, with the takeover guard of a claimant that crashed too, is taken over by one of several servers starting at once', async () => {
    const claimant = await startOfExitedProcess();
    const stranger = await liveStranger(claimant);
    try {
      for (let round = 0; round < 3; round += 1) {
        const stateDir = join(dir, `guard-race-${round}`);
        const crashed = await claimOfCrashedServer(stateDir);
        const path = serverInstanceFile(stateDir);
        // The claimant crashed while it took the crashed server over, and the stranger got its id.
        await writeFile(`${path}.takeover`, JSON.stringify({ ...crashed, pid: stranger.pid, purpose: `taking over ${path}`, start: claimant }));
        // In the last round the crashed server's id names the live stranger too.
        if (round === 2) await writeFile(path, JSON.stringify({ ...crashed, pid: stranger.pid }));
        const answers = await claimAtOnce(stateDir, 5);
        assert.deepEqual(answers.filter((a) => a === 'won'), ['won'], `one server only may hold the state directory: ${answers.join(', ')}`);
        assert.deepEqual(answers.filter((a) => a !== 'won'), Array(4).fill('refused ERR_BUSY'));
        assert.equal(await pathExists(`${path}.takeover`), false, 'the crashed guard is gone');
      }
    } finally {
      await stopStranger(stranger);
    }
  });

  it('waits a bounded time for a live process that takes a crashed claim over, then names it', async () => {
    const stateDir = join(dir, 'slow-takeover');
    const crashed = await claimOfCrashedServer(stateDir);
    const path = serverInstanceFile(stateDir);
    // The test runner stands for a live claimant that hangs in its takeover.
    const taker = JSON.stringify({ pid: process.ppid, purpose: `taking over ${path}`, since: crashed.since, host: crashed.host, start: await startOfRunner() });
    await writeFile(`${path}.takeover`, taker);
    await assert.rejects(claimServerInstance(stateDir, { takeoverWaitMs: 0 }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_BUSY');
      assert.ok(error.message.includes(`is being taken over by process ${process.ppid} on ${crashed.host}`), error.message);
      assert.ok(error.message.includes(`if process ${process.ppid} hangs, stop it`), error.message);
      return true;
    });
    assert.equal(await readFile(`${path}.takeover`, 'utf8'), taker, "a live claimant's guard is left alone");
    assert.equal((JSON.parse(await readFile(path, 'utf8')) as { pid: number }).pid, crashed.pid);
    await rm(`${path}.takeover`);
    const release = await claimServerInstance(stateDir);
    await release();
  });

  it("is given up for an exited server by the service that ran it, before its process id can name a live stranger", async () => {
    const stateDir = join(dir, 'service');
    const release = await claimServerInstance(stateDir);
    await release();
    // The test runner stands for the process that got the exited server's id: alive, so the claim would refuse.
    const exited = process.ppid;
    await writeFile(serverInstanceFile(stateDir), JSON.stringify({ pid: exited, purpose: 'replica server', since: '2026-12-07T00:00:00.000Z' }));
    const other = JSON.stringify({ pid: process.ppid + 1, purpose: 'replica server', since: '2026-12-07T00:00:00.000Z' });
    await releaseExitedServerClaim(stateDir, exited);
    assert.equal(await pathExists(serverInstanceFile(stateDir)), false);
    const next = await claimServerInstance(stateDir);
    await next();
    // Another server's claim is not the exited one's to give up.
    await writeFile(serverInstanceFile(stateDir), other);
    await releaseExitedServerClaim(stateDir, exited);
    assert.equal(await readFile(serverInstanceFile(stateDir), 'utf8'), other);
  });
});

describe('a second hvreplica server run on the same state directory', () => {
  let dir: string;
  let replicaState: string;
  let first: ServerProcess | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hvr-instance-cli-'));
    replicaState = join(dir, 'replica');
    await pairHosts({ primaryStateDir: join(dir, 'primary'), replicaStateDir: replicaState, storageLocation: join(dir, 'storage'), port: await freePort(), primaryName: 'primary.instance.test', replicaName: 'replica.instance.test', trustGroup: 'instance' });
    first = await ServerProcess.start({ stateDir: replicaState });
  });
  after(async () => {
    await first?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('is refused with ERR_BUSY, even on another port, and the first keeps serving', async () => {
    // Another port, so only the claim can stop it (on the same port the listener would fail too).
    const otherPort = await freePort();
    await new ReplicaConfigStore(replicaState).update((config) => ({ config: { ...config, CertificateAuthenticationPort: otherPort }, result: undefined }));
    const second = await runCli(['server', 'run', '--listen-address=127.0.0.1', `--state-dir=${replicaState}`]);
    assert.notEqual(second.exitCode, 0);
    assert.equal(second.json.error?.code, 'ERR_BUSY');
    assert.match(second.json.error?.message ?? '', new RegExp(`process ${first!.child.pid}.*already serves the state directory`));
    assert.ok(first!.running, 'the first server must keep running');
    const holder = JSON.parse(await readFile(serverInstanceFile(replicaState), 'utf8')) as { pid: number };
    assert.equal(holder.pid, first!.child.pid);
    assert.equal(await first!.stop(), 0);
    assert.equal(await pathExists(serverInstanceFile(replicaState)), false, 'a server that stops gives its claim up');
  });
});
