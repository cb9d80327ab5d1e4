/**
 * Initial replication by removable media (export on the primary, import on the replica, then deltas over
 * the network) and the agent: scheduled initial start and delta cycles fired by its schedulers.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Agent } from '../../src/agent/agent.js';
import type { CycleReport } from '../../src/agent/replicate-vm.js';
import { primaryStateFile } from '../../src/agent/paths.js';
import { runWorkload } from '../../src/host/file/workload.js';
import { RelationshipStore } from '../../src/relationship/index.js';
import { cli, ManualTimer, MiB, TwoHosts } from './harness.js';

describe('initial replication by media, and the agent', () => {
  it('exports the initial copy, imports it on the replica, then delta cycles apply on top', async () => {
    const hosts = await TwoHosts.create({ disks: [16 * MiB, 8 * MiB] });
    try {
      await hosts.startServer();
      await runWorkload(hosts.host, { vm: hosts.vmId, seed: 41, maxBytes: 4 * MiB });
      const media = join(hosts.root, 'usb-drive');
      const both = await cli(['initial', 'start', '--vm-name=vm1', `--destination-path=${media}`, '--initial-replication-start-time=2099-01-01T00:00:00Z', `--state-dir=${hosts.primaryState}`]);
      assert.equal(both.json.error?.code, 'ERR_INVALID_ARGUMENT');
      const exported = await cli(['initial', 'start', '--vm-name=vm1', `--destination-path=${media}`, `--state-dir=${hosts.primaryState}`]);
      assert.equal(exported.code, 0, JSON.stringify(exported.json));
      assert.equal((exported.json.result as Array<{ ReplicationState: string }>)[0]!.ReplicationState, 'InitialReplicationInProgress');
      const state = JSON.parse(await readFile(primaryStateFile(hosts.primaryState, hosts.vmId), 'utf8')) as { referencePoint: string };
      await hosts.rememberPrimary(state.referencePoint);

      const early = await hosts.replicate();
      assert.notEqual(early.code, 0, 'a delta before the import has no replica to go to');
      const imported = await cli(['initial', 'import', '--vm-name=vm1', `--path=${media}`, `--state-dir=${hosts.replicaState}`]);
      assert.equal(imported.code, 0, JSON.stringify(imported.json));
      assert.equal((imported.json.result as Array<{ Name: string }>)[0]!.Name, 'vm1');
      const twice = await cli(['initial', 'import', '--vm-name=vm1', `--path=${media}`, `--state-dir=${hosts.replicaState}`]);
      assert.equal(twice.json.error?.code, 'ERR_ALREADY_EXISTS');

      await runWorkload(hosts.host, { vm: hosts.vmId, seed: 42, maxBytes: 2 * MiB });
      const delta = await hosts.replicate();
      assert.equal(delta.code, 0, JSON.stringify(delta.json));
      assert.deepEqual([delta.cycle?.Kind, delta.cycle?.Sequence], ['delta', 1]);
      assert.equal(await hosts.server!.stop(), 0);
      // The imported copy is the first recovery point; the delta is checked as the latest state.
      assert.ok((await hosts.verifyReplica(delta.cycle!.ReferencePoint)) >= 1);
    } finally {
      await hosts.dispose();
    }
  });

  it('the agent starts a scheduled initial replication when its time comes, then sends deltas each tick', async () => {
    const hosts = await TwoHosts.create({ disks: [8 * MiB] });
    const timer = new ManualTimer();
    let now = new Date();
    const outcomes: Array<{ ok: boolean; result?: CycleReport | undefined; error?: unknown }> = [];
    let notify: (() => void) | undefined;
    const agent = new Agent({ stateDir: hosts.primaryState, host: hosts.host, timer, clock: () => now, refreshMs: 3_600_000, onCycle: (_vm, o) => (outcomes.push(o), notify?.()) });
    const tick = async () => {
      const done = new Promise<void>((resolve) => (notify = resolve));
      timer.fireAll();
      await done;
      return outcomes.at(-1)!;
    };
    try {
      await hosts.startServer();
      await runWorkload(hosts.host, { vm: hosts.vmId, seed: 51, maxBytes: 2 * MiB });
      const at = new Date(Date.now() + 3_600_000).toISOString();
      const scheduled = await cli(['initial', 'start', '--vm-name=vm1', `--initial-replication-start-time=${at}`, `--state-dir=${hosts.primaryState}`]);
      assert.equal(scheduled.code, 0, JSON.stringify(scheduled.json));
      assert.equal((scheduled.json.result as Array<{ InitialReplicationStartTime: string }>)[0]!.InitialReplicationStartTime, at);

      await agent.start();
      assert.deepEqual(agent.scheduled, [hosts.vmId]);
      assert.deepEqual(await tick(), { ok: true, result: undefined }, 'before its start time nothing is sent');
      now = new Date(Date.parse(at) + 1000);
      const initial = await tick();
      assert.equal(initial.ok, true, String(initial.error));
      assert.equal(initial.result?.Kind, 'initial');
      await hosts.rememberPrimary(initial.result!.ReferencePoint);
      await runWorkload(hosts.host, { vm: hosts.vmId, seed: 52, maxBytes: MiB });
      const delta = await tick();
      assert.equal(delta.result?.Sequence, 1);
      await hosts.rememberPrimary(delta.result!.ReferencePoint);

      const suspended = await cli(['replication', 'suspend', '--vm-name=vm1', `--state-dir=${hosts.primaryState}`]);
      assert.equal(suspended.code, 0, JSON.stringify(suspended.json));
      assert.equal((suspended.json.result as Array<{ ReplicationState: string }>)[0]!.ReplicationState, 'Suspended');
      assert.deepEqual(await tick(), { ok: true, result: undefined }, 'a suspended relationship sends nothing');
      const refused = await cli(['replicate', '--vm=vm1', `--state-dir=${hosts.primaryState}`]);
      assert.equal(refused.json.error?.code, 'ERR_INVALID_STATE');
      const resumed = await cli(['replication', 'resume', '--vm-name=vm1', `--state-dir=${hosts.primaryState}`]);
      assert.equal((resumed.json.result as Array<{ ReplicationState: string }>)[0]!.ReplicationState, 'Replicating');
      const rel = await new RelationshipStore(hosts.primaryState).get(hosts.vmId);
      assert.equal(rel?.ReplicationState, 'Replicating');
      assert.equal(rel?.InitialReplicationStartTime, null);
      assert.equal(rel?.Statistics.SuccessfulReplicationCount, 2);
      await agent.stop();
      assert.equal(await hosts.server!.stop(), 0);
      await hosts.verifyReplica(delta.result!.ReferencePoint);
    } finally {
      await agent.stop();
      await hosts.dispose();
    }
  });
});
