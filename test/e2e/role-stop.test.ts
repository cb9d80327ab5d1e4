/**
 * The long-running roles stop gracefully when the process that started them asks through an IPC channel, as the
 * Windows service does (Windows has no SIGTERM to send): exit code 0, their report, the replica server's claim of
 * its state directory given up. A channel that ends (the service process died) stops them too. And the service's
 * side: a role that does not stop within the grace is ended, one without a channel at once.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { stopChild } from '../../src/cli/commands/service/child-stop.js';
import { STOP_MESSAGE } from '../../src/cli/stop-request.js';
import { pairHosts } from '../../src/demo/pairing.js';
import { CLI_PATH, freePort, serverProcessArgs } from '../../src/demo/server-process.js';
import { serverInstanceFile } from '../../src/replica/server-instance.js';
import { pathExists } from '../../src/util/path-exists.js';

interface Role {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a role with an IPC channel, as the service does, and waits until its log says `ready`. */
async function startRole(args: string[], ready: string): Promise<Role> {
  const child = spawn(process.execPath, args, { env: { ...process.env, HVR_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const role: Role = { child, stdout: '', stderr: '', exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))) };
  child.stdout!.on('data', (d: Buffer) => (role.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (role.stderr += d.toString()));
  for (let waited = 0; !role.stderr.includes(ready); waited += 50) {
    if (child.exitCode !== null || waited > 30_000) throw new Error(`the role did not say '${ready}':\n${role.stderr}`);
    await sleep(50);
  }
  return role;
}

describe('a role started with an IPC channel', () => {
  let dir: string;
  let primaryState: string;
  let replicaState: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hvr-role-stop-'));
    primaryState = join(dir, 'primary');
    replicaState = join(dir, 'replica');
    await pairHosts({ primaryStateDir: primaryState, replicaStateDir: replicaState, storageLocation: join(dir, 'storage'), port: await freePort(), primaryName: 'primary.stop.test', replicaName: 'replica.stop.test', trustGroup: 'stop' });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('replica server: stops on the stop message, exits 0 and gives up its claim', async () => {
    const server = await startRole(serverProcessArgs({ stateDir: replicaState }), 'replica server listening');
    assert.equal(await pathExists(serverInstanceFile(replicaState)), true);
    server.child.send(STOP_MESSAGE);
    assert.deepEqual(await server.exited, { code: 0, signal: null }, server.stderr);
    assert.match(server.stderr, /"signal":"stop request"/);
    assert.equal(await pathExists(serverInstanceFile(replicaState)), false, 'a server that stops gives its claim up');
  });

  it('replica server: stops when the channel ends (the process that started it is gone)', async () => {
    const server = await startRole(serverProcessArgs({ stateDir: replicaState }), 'replica server listening');
    server.child.disconnect();
    assert.deepEqual(await server.exited, { code: 0, signal: null }, server.stderr);
    assert.match(server.stderr, /the process that started this one is gone/);
    assert.equal(await pathExists(serverInstanceFile(replicaState)), false);
  });

  it('agent: stops on the stop message and exits 0 with its report', async () => {
    const agent = await startRole([CLI_PATH, 'agent', 'run', '--json', `--state-dir=${primaryState}`], 'agent running');
    agent.child.send(STOP_MESSAGE);
    assert.deepEqual(await agent.exited, { code: 0, signal: null }, agent.stderr);
    const report = JSON.parse(agent.stdout) as { ok: boolean; result: { StoppedAt: string; FailedCycles: number } };
    assert.equal(report.ok, true);
    assert.equal(report.result.FailedCycles, 0);
    assert.ok(Date.parse(report.result.StoppedAt) > 0);
  });
});

describe("the service's stop of its role", () => {
  it('ends a role that does not stop within the grace', async () => {
    // Listens on the channel and ignores what it is told, like a role stuck in a long operation.
    const stuck = spawn(process.execPath, ['-e', "process.on('message', () => {}); setInterval(() => {}, 1000); process.send('up')"], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    await new Promise((resolve) => stuck.once('message', resolve));
    await stopChild(stuck, 300);
    assert.equal(stuck.signalCode, 'SIGTERM');
  });

  it('ends a role without a channel at once', async () => {
    const plain = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise((resolve) => plain.once('spawn', resolve));
    await stopChild(plain, 60_000);
    assert.equal(plain.signalCode, 'SIGTERM');
  });

  it('lets a role that stops by itself exit with its own code', async () => {
    const polite = spawn(process.execPath, ['-e', "process.on('message', (m) => { if (m === process.argv[1]) process.exit(0); }); process.send('up')", STOP_MESSAGE], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    await new Promise((resolve) => polite.once('message', resolve));
    await stopChild(polite, 60_000);
    assert.equal(polite.exitCode, 0);
    assert.equal(polite.signalCode, null);
  });
});
