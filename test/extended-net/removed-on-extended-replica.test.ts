/**
 * The middle host B of A→B→C after C removed its extended replica (hyperv-replica.md §2.5, §2.10, §5.7), over
 * loopback with the real servers and CLI: B's Extended relationship goes to Error (health Critical, saying what
 * to do), its agent sends nothing; Resume-HvrVMReplication -ReplicationRelationshipType Extended clears the
 * refusal and lets the next cycle ask C again (refused again, marked again); removing the Extended relationship
 * on B (which stops an extended cycle in flight and forgets its position) and enabling it again starts a new
 * extended initial replication that C accepts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { extendedCycleLockFile, extendedPositionFile, extendedRecords } from '../../src/agent/extended-relationship.js';
import { cli, MiB, ThreeHosts, type CliResult } from '../e2e/harness.js';
import { cycle } from '../failover-net/helpers.js';
import { whileCycleInFlight } from '../helpers/cycle-in-flight.js';

type Row = Record<string, unknown>;

function succeeded(run: CliResult, what: string): Row[] {
  assert.equal(run.code, 0, `${what}: ${JSON.stringify(run.json)}`);
  return run.json.result as Row[];
}

/** B waits to extend a replica until it applied the initial cycle. */
async function replicatingOnB(hosts: ThreeHosts): Promise<void> {
  for (let i = 0; i < 600; i += 1) {
    const view = await cli(['replication', 'get', '--vm-name=vm1', `--state-dir=${hosts.replicaState}`]);
    if ((view.json.result as Row[] | undefined)?.some((r) => r.ReplicationMode === 'Replica' && r.ReplicationState === 'Replicating')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail('B did not reach Replicating after the initial cycle');
}

describe('extended replication removed on the extended replica server', () => {
  it('puts B\'s Extended relationship in Error; resume lets it ask again; remove and enable on B start a new one C accepts', async () => {
    const hosts = await ThreeHosts.create({ disks: [4 * MiB], frequencySec: 300, recoveryHistory: 2 });
    try {
      await hosts.startServers();
      await hosts.ab.workload(['--seed=91', '--bytes=2MiB']);
      await cycle(hosts.ab);
      await replicatingOnB(hosts);
      succeeded(await hosts.enableExtended(), 'enable extended');
      assert.equal((await hosts.replicateExtended()).code, 0);
      const onB = (...args: string[]) => cli([...args, `--state-dir=${hosts.replicaState}`]);
      const extendedOnB = async (): Promise<Row> => succeeded(await onB('replication', 'get', '--vm-name=vm1', '--replication-relationship-type=Extended'), 'get Extended')[0]!;

      succeeded(await cli(['replication', 'remove', '--vm-name=vm1', '--replication-relationship-type=Extended', `--state-dir=${hosts.extendedState}`]), 'remove on C');
      await hosts.ab.workload(['--seed=92', '--bytes=1MiB']);
      await cycle(hosts.ab);
      const refusedCycle = await hosts.replicateExtended();
      assert.equal(refusedCycle.code, 4, JSON.stringify(refusedCycle.json));
      assert.equal(refusedCycle.json.error?.code, 'ERR_REPLICATION_REMOVED');

      // B's Extended relationship: Error like a Simple primary's, Critical, saying why and what to do.
      const refusedView = await extendedOnB();
      assert.deepEqual([refusedView.ReplicationMode, refusedView.ReplicationState, refusedView.ReplicationHealth], ['Primary', 'Error', 'Critical']);
      assert.match(String(refusedView.ReplicationError), /was removed on replica server extended\.e2e\.test .*--replication-relationship-type Extended/);
      const [record] = await extendedRecords(hosts.replicaState);
      assert.equal(record!.history.at(-1)!.to, 'Error', 'through the state machine, recorded in the history');

      // Resume: the refusal is cleared and the next cycle asks C again, which refuses it again.
      const [resumed] = succeeded(await onB('replication', 'resume', '--vm-name=vm1', '--replication-relationship-type=Extended'), 'resume Extended');
      assert.deepEqual([resumed!.ReplicationState, resumed!.ReplicationError], ['Replicating', undefined]);
      const [afterResume] = await extendedRecords(hosts.replicaState);
      assert.equal(afterResume!.Relationship.RemovedOnReplica, undefined);
      assert.equal((await hosts.replicateExtended()).json.error?.code, 'ERR_REPLICATION_REMOVED');
      assert.equal((await extendedOnB()).ReplicationState, 'Error', 'refused again, marked again');

      // Removed on B too, while an extended cycle holds its lock (here this process): the removal asks it to stop,
      // waits, and only then forgets the position, which the cycle saves again on its way out.
      const position = extendedPositionFile(hosts.replicaState, hosts.ab.vmId);
      const saved = await readFile(position);
      const { result: removedOnB, cancelSeen } = await whileCycleInFlight(extendedCycleLockFile(hosts.replicaState, hosts.ab.vmId), position, () =>
        onB('replication', 'remove', '--vm-name=vm1', '--replication-relationship-type=Extended'),
      );
      succeeded(removedOnB, 'remove Extended on B');
      assert.ok(cancelSeen, 'the removal asked the extended cycle to stop');
      assert.ok(!existsSync(position), 'and forgot the position after the cycle let go');
      // A position left anyway (a removal that stopped before forgetting it) is not the next relationship's.
      await writeFile(position, saved);
      // Enabled again: a new relationship, whose initial replication C accepts.
      succeeded(await hosts.enableExtended(), 'enable extended again');
      const again = await hosts.replicateExtended();
      assert.equal(again.code, 0, JSON.stringify(again.json));
      assert.equal((again.json.result as Row).Kind, 'initial', 'a new extended initial replication');
      await hosts.verifyExtended();
      assert.deepEqual([(await extendedOnB()).ReplicationState, (await extendedOnB()).ReplicationHealth], ['Replicating', 'Normal']);
    } finally {
      await hosts.dispose();
    }
  });
});
