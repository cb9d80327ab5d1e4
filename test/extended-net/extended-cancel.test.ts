/**
 * A suspend of an Extended relationship (B→C) ends B's extended cycle in flight at once, also while C does not
 * answer: while the cycle connects to C, and while it waits for C to say what it holds. Before, the suspend
 * did not stop the extended cycle at all (it asked the VM's primary cycle lock), and the cycle's requests to C
 * took no cancel, so it hung until the session's liveness check. After the resume, the next extended cycle
 * sends, and C equals B.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cycleLockHolder } from '../../src/agent/cycle-lock.js';
import { extendedCycleLockFile } from '../../src/agent/extended-relationship.js';
import { cli, MiB, ThreeHosts, type CliResult } from '../e2e/harness.js';
import { startFreezingProxy } from '../transport/freezing-proxy.js';

type Row = Record<string, unknown>;

function ok(run: CliResult, what: string): Row[] {
  assert.equal(run.code, 0, `${what}: ${JSON.stringify(run.json)}`);
  return run.json.result as Row[];
}

async function until(what: string, test: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 6_000; i += 1) {
    if (await test()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`never happened: ${what}`);
}

/** B's replica of vm1 replicating, after A's initial cycle (applied after it was acknowledged). */
async function replicatingOnB(hosts: ThreeHosts): Promise<void> {
  await until('B applied the initial cycle', async () => {
    const view = await cli(['replication', 'get', '--vm-name=vm1', '--state-dir', hosts.replicaState]);
    return (view.json.result as Row[]).some((r) => r.ReplicationMode === 'Replica' && r.ReplicationState === 'Replicating');
  });
}

describe('a suspend of an extended relationship whose extended replica server does not answer', () => {
  for (const stage of ['connecting to C', 'asking C what it holds'] as const) {
    it(`ends the extended cycle ${stage} at once, and the cycle after the resume replicates`, async () => {
      const hosts = await ThreeHosts.create({ disks: [16 * MiB], frequencySec: 300 });
      // B reaches C through a proxy that can stop passing C's answers, as a C that hangs looks from B.
      const proxy = await startFreezingProxy(hosts.portC);
      try {
        await hosts.startServers();
        const b = ['--vm-name=vm1', '--replication-relationship-type=Extended', `--state-dir=${hosts.replicaState}`];
        await hosts.ab.workload(['--seed=51', '--bytes=2MiB']);
        assert.equal((await hosts.ab.replicate()).cycle?.Kind, 'initial');
        await replicatingOnB(hosts);
        ok(await hosts.enableExtended([`--replica-server-port=${proxy.port}`]), 'extended enable through the proxy');
        ok(await hosts.replicateExtended(), 'extended initial');
        await hosts.ab.workload(['--seed=52', '--bytes=2MiB']);
        assert.equal((await hosts.ab.replicate()).cycle?.Kind, 'delta');

        if (stage === 'connecting to C') proxy.freeze();
        else proxy.freezeAnswersOnceConnected();
        const running = hosts.replicateExtended();
        const lock = extendedCycleLockFile(hosts.replicaState, hosts.ab.vmId);
        await until('the extended cycle holds its lock', async () => (await cycleLockHolder(lock)) !== undefined);
        if (stage === 'asking C what it holds') await until('the cycle connected to C, whose answers stopped', () => proxy.answersFrozen);
        const suspended = ok(await cli(['replication', 'suspend', ...b]), 'suspend extended');
        assert.equal(suspended[0]?.ReplicationState, 'Suspended');
        const cycle = await running;
        assert.equal(cycle.json.error?.code, 'ERR_CANCELLED', `stopped by the suspend, not by the silent server's liveness check: ${JSON.stringify(cycle.json)}`);
        assert.equal(await cycleLockHolder(lock), undefined, 'the suspend returned once the cycle had let go');
        assert.equal((await hosts.replicateExtended()).json.error?.code, 'ERR_INVALID_STATE', 'no extended cycle while suspended');

        proxy.thaw();
        assert.equal(ok(await cli(['replication', 'resume', ...b]), 'resume extended')[0]?.ReplicationState, 'Replicating');
        ok(await hosts.replicateExtended(), 'extended cycle after the resume');
        await hosts.verifyExtended();
      } finally {
        await proxy.close();
        await hosts.dispose();
      }
    });
  }
});
