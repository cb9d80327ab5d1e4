/**
 * Initial replication from a copy on the replica (Start-VMInitialReplication -UseBackup) through the CLI:
 * the administrator copies the VM's disks to the replica host and registers them with
 * `initial import --use-backup`; `initial start --use-backup` on the primary then sends only the blocks
 * that differ from the copy, now or (scheduled) from the agent at its start time. A copy of another size is
 * refused with a clear error.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { HASH_SYNC_BLOCK_SIZE } from '../../src/agent/hash-sync.js';
import type { CycleReport } from '../../src/agent/replicate-vm.js';
import { createDisk } from '../../src/vhdx/index.js';
import { Agent } from '../../src/agent/agent.js';
import { RelationshipStore } from '../../src/relationship/index.js';
import { cli, ManualTimer, MiB, TwoHosts, type CliResult } from '../e2e/harness.js';
import { touchedBytes } from './helpers.js';

function ok(run: CliResult): Record<string, unknown> {
  assert.equal(run.code, 0, JSON.stringify(run.json));
  return (run.json.result as Array<Record<string, unknown>>)[0]!;
}

describe('initial replication from a copy on the replica (--use-backup)', () => {
  it('a copy that differs in a few blocks: only those are sent; a copy of another size is refused', async (t) => {
    const disks = [32 * MiB, 16 * MiB];
    const total = disks.reduce((a, b) => a + b, 0);
    const hosts = await TwoHosts.create({ disks });
    try {
      await hosts.workload(['--seed=91', '--bytes=16MiB']);
      // The administrator's copy (a backup restored on the replica host), taken while nothing writes.
      const vm = await hosts.host.getVm(hosts.vmId);
      const copy = join(hosts.root, 'restored');
      await mkdir(copy, { recursive: true });
      for (const disk of vm.disks) {
        assert.equal(disk.currentPath, disk.basePath, 'no reference point yet: the base is the whole disk');
        await copyFile(disk.basePath, join(copy, basename(disk.basePath)));
      }
      // The VM goes on writing after the backup: these blocks differ between the copy and the primary.
      const journal = join(hosts.root, 'journal.jsonl');
      await hosts.workload(['--seed=92', '--bytes=640KiB', `--journal=${journal}`]);

      // First a copy of the wrong size: refused with a message that says so.
      const wrong = join(hosts.root, 'wrong');
      await mkdir(wrong, { recursive: true });
      for (const disk of vm.disks) await createDisk(join(wrong, basename(disk.basePath)), { type: 'dynamic', virtualSize: disk.virtualSize * 2, logicalSectorSize: disk.logicalSectorSize });
      ok(await cli(['initial', 'import', '--vm-name=vm1', '--use-backup', `--path=${wrong}`, `--state-dir=${hosts.replicaState}`]));
      await hosts.startServer();
      const refused = await cli(['initial', 'start', '--vm-name=vm1', '--use-backup', '--wait', `--state-dir=${hosts.primaryState}`]);
      assert.notEqual(refused.code, 0);
      assert.equal(refused.json.error?.code, 'ERR_INVALID_ARGUMENT', JSON.stringify(refused.json));
      assert.match(refused.json.error!.message, /same size/);

      const registered = ok(await cli(['initial', 'import', '--vm-name=vm1', '--use-backup', `--path=${copy}`, `--state-dir=${hosts.replicaState}`]));
      assert.equal(registered.ReplicationState, 'WaitingForInitialReplication');
      const started = ok(await cli(['initial', 'start', '--vm-name=vm1', '--use-backup', '--wait', `--state-dir=${hosts.primaryState}`]));
      const report = started.InitialReplication as CycleReport;
      assert.equal(started.ReplicationState, 'Replicating');
      assert.equal(report.ComparedBytes, total);
      const most = await touchedBytes(journal, HASH_SYNC_BLOCK_SIZE, new Map(vm.disks.map((d) => [d.id, d.virtualSize])));
      assert.ok(report.ChangedBytes > 0 && report.ChangedBytes <= most, `${report.ChangedBytes} bytes differed; the later writes touched ${most} bytes of the compared blocks`);
      assert.ok(report.LogBytes < total / 8, `${report.LogBytes} bytes sent for ${total} bytes of disk`);
      t.diagnostic(`use-backup: ${report.LogBytes} bytes sent, ${report.ChangedBytes} differing, of ${total} bytes of disk (${((100 * report.LogBytes) / total).toFixed(1)} %)`);
      await hosts.rememberPrimary(report.ReferencePoint);

      const again = await cli(['initial', 'start', '--vm-name=vm1', '--use-backup', `--state-dir=${hosts.primaryState}`]);
      assert.equal(again.json.error?.code, 'ERR_INVALID_STATE', 'the initial replication is done');
      await hosts.workload(['--seed=93', '--bytes=256KiB']);
      const delta = await hosts.replicate();
      assert.deepEqual([delta.cycle?.Kind, delta.cycle?.Sequence], ['delta', report.Sequence + 1], JSON.stringify(delta.json));
      const measured = ok(await cli(['replication', 'measure', '--vm-name=vm1', `--state-dir=${hosts.primaryState}`]));
      assert.equal(measured.InitialReplicationSize, report.LogBytes);
      assert.equal(await hosts.server!.stop(), 0);
      assert.ok((await hosts.verifyReplica(delta.cycle!.ReferencePoint)) >= 2, 'the replica equals the primary at the compared point and after the delta');
    } finally {
      await hosts.dispose();
    }
  });
  it('scheduled (--initial-replication-start-time): the agent seeds from the copy when the time comes', async () => {
    const disks = [16 * MiB];
    const hosts = await TwoHosts.create({ disks });
    const timer = new ManualTimer();
    let now = new Date();
    let notify: ((o: { ok: boolean; result?: CycleReport | undefined; error?: unknown }) => void) | undefined;
    const agent = new Agent({ stateDir: hosts.primaryState, host: hosts.host, timer, clock: () => now, refreshMs: 3_600_000, onCycle: (_vm, o) => notify?.(o) });
    const tick = async () => {
      // The scheduler forgets its previous cycle just after reporting it: a tick before that counts as missed.
      await new Promise((resolve) => setImmediate(resolve));
      const done = new Promise<{ ok: boolean; result?: CycleReport | undefined; error?: unknown }>((resolve) => (notify = resolve));
      timer.fireAll();
      return done;
    };
    try {
      await hosts.workload(['--seed=95', '--bytes=8MiB']);
      const vm = await hosts.host.getVm(hosts.vmId);
      const copy = join(hosts.root, 'restored');
      await mkdir(copy, { recursive: true });
      for (const disk of vm.disks) await copyFile(disk.basePath, join(copy, basename(disk.basePath)));
      await hosts.workload(['--seed=96', '--bytes=256KiB']);
      ok(await cli(['initial', 'import', '--vm-name=vm1', '--use-backup', `--path=${copy}`, `--state-dir=${hosts.replicaState}`]));
      await hosts.startServer();

      const at = new Date(Date.now() + 3_600_000).toISOString();
      const scheduled = ok(await cli(['initial', 'start', '--vm-name=vm1', '--use-backup', `--initial-replication-start-time=${at}`, `--state-dir=${hosts.primaryState}`]));
      assert.deepEqual([scheduled.ReplicationState, scheduled.InitialReplicationStartTime], ['ReadyForInitialReplication', at]);
      assert.equal((await new RelationshipStore(hosts.primaryState).get(hosts.vmId))?.InitialReplicationUseBackup, true);

      await agent.start();
      assert.deepEqual(await tick(), { ok: true, result: undefined }, 'nothing before its start time');
      now = new Date(Date.parse(at) + 1000);
      const seeded = await tick();
      assert.equal(seeded.ok, true, String(seeded.error));
      assert.equal(seeded.result?.Kind, 'initial');
      assert.equal(seeded.result?.ComparedBytes, disks[0], 'compared with the copy: the use-backup path, not a full copy');
      assert.ok(seeded.result!.LogBytes < disks[0]! / 8, `${seeded.result!.LogBytes} bytes sent`);
      await hosts.rememberPrimary(seeded.result!.ReferencePoint);
      const rel = await new RelationshipStore(hosts.primaryState).get(hosts.vmId);
      assert.deepEqual([rel?.ReplicationState, rel?.InitialReplicationStartTime, rel?.InitialReplicationUseBackup], ['Replicating', null, false]);
      await agent.stop();
      assert.equal(await hosts.server!.stop(), 0);
      await hosts.verifyReplica(seeded.result!.ReferencePoint);
    } finally {
      await agent.stop();
      await hosts.dispose();
    }
  });
});
