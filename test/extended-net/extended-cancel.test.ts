/**
 * A suspend of an Extended relationship (B→C) ends B's extended cycle in flight at once, also while C does not
 * answer: while the cycle connects to C, and while it waits for C to say what it holds. Before, the suspend
 * did not stop the extended cycle at all (it asked the VM's primary cycle lock), and the cycle's requests to C
 * took no cancel, so it hung until the session's liveness check. After the resume, the next extended cycle
 * sends, and C equals B. And B's `--continue` (after A→B failed over), cancelled while it sends C the VM's
 * definition, ends at once with B still holding its Extended relationship; run again, it continues.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cycleLockHolder } from '../../src/agent/cycle-lock.js';
import { continueExtendedNetwork } from '../../src/agent/extended-continue.js';
import { extendedCycleLockFile } from '../../src/agent/extended-relationship.js';
import { FileHost } from '../../src/host/file/file-host.js';
import { cli, latestContent, MiB, ThreeHosts, vmHashes, type CliResult } from '../e2e/harness.js';
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

describe('extended replication stopped while its extended replica server does not answer', () => {
  for (const stage of ['connecting to C', 'asking C what it holds'] as const) {
    it(`a suspend ends the extended cycle ${stage} at once, and the cycle after the resume replicates`, async () => {
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

  it("a cancelled --continue ends at once while C does not answer the VM's definition, and continues when run again", async () => {
    const hosts = await ThreeHosts.create({ disks: [16 * MiB], frequencySec: 300 });
    const proxy = await startFreezingProxy(hosts.portC);
    try {
      await hosts.startServers();
      const b = ['--vm-name=vm1', `--state-dir=${hosts.replicaState}`];
      await hosts.ab.workload(['--seed=61', '--bytes=2MiB']);
      assert.equal((await hosts.ab.replicate()).cycle?.Kind, 'initial');
      await replicatingOnB(hosts);
      ok(await hosts.enableExtended([`--replica-server-port=${proxy.port}`]), 'extended enable through the proxy');
      ok(await hosts.replicateExtended(), 'extended initial');
      ok(await cli(['vm', 'stop', 'vm1', `--state-dir=${hosts.primaryState}`]), "A's VM stops");
      ok(await cli(['failover', 'start', ...b]), 'failover on B');

      proxy.freezeAnswersOnceConnected();
      const bHost = new FileHost({ root: join(hosts.replicaState, 'vms') });
      const controller = new AbortController();
      const reason = new Error('cancelled by the test');
      const continuing = continueExtendedNetwork({ stateDir: hosts.replicaState, vm: 'vm1', host: bHost, signal: controller.signal });
      continuing.catch(() => undefined);
      await until('B connected to C, whose answers stopped', () => proxy.answersFrozen);
      controller.abort(reason);
      await assert.rejects(continuing, (error) => error === reason);
      const extended = ok(await cli(['replication', 'get', ...b, '--replication-relationship-type=Extended']), 'get Extended on B');
      assert.equal(extended.length, 1, 'B still holds its Extended relationship: nothing of its records changed');

      proxy.thaw();
      const [rel] = ok(await cli(['replication', 'resume', ...b, '--continue']), 'resume --continue again');
      assert.deepEqual([rel!.ReplicationMode, rel!.ReplicationRelationshipType, rel!.ReplicationState], ['Primary', 'Simple', 'Replicating']);
      assert.deepEqual((await latestContent(hosts.extendedDir)).hashes, await vmHashes(bHost, 'vm1'), "C holds B's VM as it is now");
    } finally {
      await proxy.close();
      await hosts.dispose();
    }
  });
});
