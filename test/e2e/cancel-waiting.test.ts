/**
 * A cycle stopped while it waits for a replica server that stopped answering (SIGSTOPped here) ends at the
 * stop, not at the session's 30 s liveness check: a suspend of a delta cycle whose upload is under way or
 * whose connection is being made, and a service stop (SIGTERM to `agent run`) during an initial copy. The
 * primary's state is what it was (position unchanged, the cycle's reference point discarded), and once the
 * server answers again the next cycle replicates and the replica equals the primary.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cycleLockFile, primaryStateFile } from '../../src/agent/paths.js';
import { cycleLockHolder } from '../../src/agent/cycle-lock.js';
import { CLI_PATH } from '../../src/demo/server-process.js';
import { cli, MiB, TwoHosts } from './harness.js';

type Row = { ReplicationState: string };

async function replication(hosts: TwoHosts, verb: 'get' | 'suspend' | 'resume'): Promise<Row> {
  const run = await cli(['replication', verb, '--vm-name=vm1', `--state-dir=${hosts.primaryState}`]);
  assert.equal(run.code, 0, JSON.stringify(run.json));
  return (run.json.result as Row[])[0]!;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether the replica server has received some bytes of an upload into its partial file. */
async function uploadArriving(hosts: TwoHosts): Promise<boolean> {
  const uploads = join(hosts.replicaDir, 'uploads');
  for (const disk of await readdir(uploads).catch(() => [])) {
    for (const name of await readdir(join(uploads, disk)).catch(() => [])) {
      if (name.endsWith('.partial') && ((await stat(join(uploads, disk, name)).catch(() => undefined))?.size ?? 0) > 0) return true;
    }
  }
  return false;
}

async function until(what: string, test: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 12_000; i += 1) {
    if (await test()) return;
    await pause(5);
  }
  assert.fail(`never happened: ${what}`);
}

const frozenPoints = async (hosts: TwoHosts) => (await hosts.host.getVm(hosts.vmId)).referencePoints.filter((p) => p.state === 'frozen').length;

describe('a cycle stopped while the replica server does not answer', () => {
  for (const stage of ['connecting', 'uploading'] as const) {
    it(`a suspend ends a delta cycle ${stage}, leaves the primary's state as it was, and the cycle after the resume replicates`, async () => {
      const hosts = await TwoHosts.create({ disks: [128 * MiB] });
      try {
        const server = await hosts.startServer();
        await hosts.workload(['--seed=31', '--bytes=4MiB']);
        const initial = await hosts.replicate();
        assert.equal(initial.cycle?.Kind, 'initial', JSON.stringify(initial.json));
        const before = await readFile(primaryStateFile(hosts.primaryState, hosts.vmId), 'utf8');
        await hosts.workload(['--seed=32', '--bytes=96MiB', '--zero-share=0', '--trim-share=0']);
        if (stage === 'connecting') server.child.kill('SIGSTOP');
        let cycle: Awaited<ReturnType<TwoHosts['replicate']>>;
        try {
          const running = hosts.replicate();
          if (stage === 'uploading') {
            await until('the upload reached the replica server', () => uploadArriving(hosts));
            server.child.kill('SIGSTOP');
          } else {
            await until('the cycle holds its lock', async () => (await cycleLockHolder(cycleLockFile(hosts.primaryState, hosts.vmId))) !== undefined);
          }
          assert.equal((await replication(hosts, 'suspend')).ReplicationState, 'Suspended');
          cycle = await running;
        } finally {
          server.child.kill('SIGCONT');
        }
        assert.equal(cycle.json.error?.code, 'ERR_CANCELLED', `stopped by the suspend, not by the silent server's timeout: ${JSON.stringify(cycle.json)}`);
        assert.equal(await readFile(primaryStateFile(hosts.primaryState, hosts.vmId), 'utf8'), before, 'the position is the last acknowledged one');
        assert.equal(await frozenPoints(hosts), 0, 'the stopped cycle discarded its reference point');
        assert.equal((await hosts.replicate()).json.error?.code, 'ERR_INVALID_STATE', 'no cycle while suspended');

        assert.equal((await replication(hosts, 'resume')).ReplicationState, 'Replicating');
        const next = await hosts.replicate();
        assert.equal(next.cycle?.Kind, 'delta', JSON.stringify(next.json));
        assert.equal(await server.stop(), 0);
        assert.ok((await hosts.verifyReplica(next.cycle!.ReferencePoint)) >= 2);
      } finally {
        await hosts.dispose();
      }
    });
  }

  it('a service stop ends an initial copy that is uploading, and the copy replicates once the server answers', async () => {
    const hosts = await TwoHosts.create({ disks: [128 * MiB], frequencySec: 30 });
    let agent: ReturnType<typeof spawn> | undefined;
    try {
      const server = await hosts.startServer();
      await hosts.workload(['--seed=41', '--bytes=96MiB', '--zero-share=0', '--trim-share=0']);
      // Scheduled a moment ahead: the agent starts it at its first tick (the frequency, 30 s).
      const scheduled = await cli(['initial', 'start', '--vm-name=vm1', `--initial-replication-start-time=${new Date(Date.now() + 2000).toISOString()}`, `--state-dir=${hosts.primaryState}`]);
      assert.equal(scheduled.code, 0, JSON.stringify(scheduled.json));
      agent = spawn(process.execPath, [CLI_PATH, 'agent', 'run', '--json', `--state-dir=${hosts.primaryState}`], { env: { ...process.env, HVR_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      agent.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => agent!.once('close', (code) => resolve(code)));
      try {
        await until('the initial copy reached the replica server', () => uploadArriving(hosts)).catch((error: Error) => {
          throw new Error(`${error.message}\n${stderr}`);
        });
        server.child.kill('SIGSTOP');
        agent.kill('SIGTERM');
        // The server is still stopped: the agent ends without it. Before, it waited for the silent server to let
        // its session close, which it never did while stopped: the bound only turns that hang into a failure.
        const bound = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000).unref());
        assert.equal(await Promise.race([exited, bound]), 0, stderr);
      } finally {
        server.child.kill('SIGCONT');
      }
      assert.match(stderr, /stopping; running cycles are aborted/);
      assert.match(stderr, /initial replication cancelled/);
      assert.doesNotMatch(stderr, /has not answered/, 'ended by the stop, not by the session\'s liveness check');
      await assert.rejects(readFile(primaryStateFile(hosts.primaryState, hosts.vmId)), { code: 'ENOENT' }, 'nothing was acknowledged: no position');
      assert.equal(await frozenPoints(hosts), 0, 'the stopped copy discarded its reference point');
      const copy = await hosts.replicate();
      assert.equal(copy.cycle?.Kind, 'initial', JSON.stringify(copy.json));
      assert.equal(await server.stop(), 0);
      assert.ok((await hosts.verifyReplica(copy.cycle!.ReferencePoint)) >= 1);
    } finally {
      if (agent && agent.exitCode === null) agent.kill('SIGKILL');
      await hosts.dispose();
    }
  });
});
