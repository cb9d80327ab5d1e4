/**
 * Initial replication from a copy on the replica (Start-VMInitialReplication -UseBackup) through the CLI:
 * the administrator copies the VM's disks to the replica host and registers them with
 * `initial import --use-backup`; `initial start --use-backup` on the primary then sends only the blocks
 * that differ from the copy. A copy of another size is refused with a clear error.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import type { CycleReport } from '../../src/agent/replicate-vm.js';
import { createDisk } from '../../src/vhdx/index.js';
import { cli, MiB, TwoHosts, type CliResult } from '../e2e/harness.js';
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
      const refused = await cli(['initial', 'start', '--vm-name=vm1', '--use-backup', `--state-dir=${hosts.primaryState}`]);
      assert.notEqual(refused.code, 0);
      assert.equal(refused.json.error?.code, 'ERR_INVALID_ARGUMENT', JSON.stringify(refused.json));
      assert.match(refused.json.error!.message, /same size/);

      const registered = ok(await cli(['initial', 'import', '--vm-name=vm1', '--use-backup', `--path=${copy}`, `--state-dir=${hosts.replicaState}`]));
      assert.equal(registered.ReplicationState, 'WaitingForInitialReplication');
      const started = ok(await cli(['initial', 'start', '--vm-name=vm1', '--use-backup', `--state-dir=${hosts.primaryState}`]));
      const report = started.InitialReplication as CycleReport;
      assert.equal(started.ReplicationState, 'Replicating');
      assert.equal(report.ComparedBytes, total);
      const most = await touchedBytes(journal, 1024 * 1024, new Map(vm.disks.map((d) => [d.id, d.virtualSize])));
      assert.ok(report.ChangedBytes > 0 && report.ChangedBytes <= most, `${report.ChangedBytes} bytes differed; the later writes touched ${most} bytes of 1 MiB blocks`);
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
});
