/**
 * The recovery-checkpoint / reference-point cycle of native/src/hyperv, run against the WMI fake:
 * order of calls, job polling with timeouts, the application → crash fallback, and that no path leaves
 * a checkpoint behind.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hypervBinding, type HyperVFakes } from '../../src/host/hyperv/native.js';
import { tempDir } from '../helpers/paths.js';
import { FakeClock, FakeHyperV } from './fake-hyperv.js';

const VM = '0d2c4a5e-1b7f-4c3d-9e8a-6f5b4c3d2e1a';

function setup(version = '9.0') {
  const hv = new FakeHyperV();
  hv.addVm({
    id: VM,
    name: 'web01',
    version,
    disks: [
      { path: 'D:\\VMs\\web01\\os.vhdx', virtualSize: 64 << 20 },
      { path: 'D:\\VMs\\web01\\data.vhdx', slot: 1, virtualSize: 32 << 20 },
    ],
  });
  const clock = new FakeClock();
  const warnings: string[] = [];
  const fakes: HyperVFakes = { wmi: hv, clock, onWarning: (m) => warnings.push(m) };
  return { hv, clock, fakes, warnings };
}

const api = () => hypervBinding();
const timeouts = { jobTimeoutMs: 60_000, pollIntervalMs: 1_000 };

test('an application-consistent recovery checkpoint freezes every disk and reports the frozen files', async () => {
  const { hv, fakes, clock } = setup();
  const cp = await api().createRecoveryCheckpoint({ vmId: VM, consistency: 'application', ...timeouts }, fakes);
  assert.equal(cp.kind, 'recovery');
  assert.equal(cp.consistency, 'application');
  assert.equal(cp.fellBack, false);
  assert.deepEqual(
    cp.frozenDisks.map((d) => d.path),
    ['D:\\VMs\\web01\\os.vhdx', 'D:\\VMs\\web01\\data.vhdx'],
  );
  // The VM moved on to new layers; the frozen files are no longer written.
  assert.ok(hv.vmDisks(VM).every((d) => String((d.properties.HostResource as string[])[0]).endsWith('.avhdx')));
  const create = hv.calls.find((c) => c.method === 'CreateSnapshot')!;
  assert.equal(create.params.SnapshotType, 32768);
  const settings = hv.embedded.get(String(create.params.SnapshotSettings))!;
  assert.equal(settings.classOrPath, 'Msvm_VirtualSystemSnapshotSettingData');
  assert.equal(settings.properties.ConsistencyLevel, 1);
  assert.equal(settings.properties.GuestBackupType, 2);
  assert.equal(settings.properties.IgnoreNonSnapshottableDisks, true);
  // The job was polled (Running twice, then Completed) at the poll interval, in fake time.
  assert.deepEqual(clock.sleeps, [1000, 1000]);
  assert.equal(hv.snapshotsOf(VM).length, 1);
  // Disk identities keep their controller/slot key, the same on the VM and on the checkpoint.
  assert.deepEqual(
    cp.frozenDisks.map((d) => d.deviceKey),
    hv.vmDisks(VM).map((d) => String(d.properties.InstanceID).toUpperCase().split('\\').slice(1).join('\\')),
  );
});

test('a failing application-consistent checkpoint falls back to crash-consistent and is flagged', async () => {
  const { hv, fakes, warnings } = setup();
  hv.fail('CreateSnapshot', {
    when: (p) => hv.embedded.get(String(p.SnapshotSettings))?.properties.ConsistencyLevel === 1,
    jobState: 10,
    errorCode: 32768,
    errorDescription: "The guest's VSS writer failed",
  });
  const cp = await api().createRecoveryCheckpoint({ vmId: VM, consistency: 'application', ...timeouts }, fakes);
  assert.equal(cp.requestedConsistency, 'application');
  assert.equal(cp.consistency, 'crash');
  assert.equal(cp.fellBack, true);
  assert.match(cp.fallbackReason!, /Exception \(10\) with error 32768 \(Failed\): The guest's VSS writer failed/);
  assert.equal(warnings.length, 1);
  const levels = hv.calls
    .filter((c) => c.method === 'CreateSnapshot')
    .map((c) => hv.embedded.get(String(c.params.SnapshotSettings))!.properties.ConsistencyLevel);
  assert.deepEqual(levels, [1, 2]);
  assert.equal(hv.snapshotsOf(VM).length, 1, 'only the crash-consistent checkpoint exists');
});

test('access denied is not retried crash-consistent: the administrator must fix it', async () => {
  const { hv, fakes } = setup();
  hv.fail('CreateSnapshot', { returnValue: 32769 });
  await assert.rejects(api().createRecoveryCheckpoint({ vmId: VM, consistency: 'application', ...timeouts }, fakes), (e: any) => {
    assert.equal(e.code, 'ERR_ACCESS_DENIED');
    assert.equal(e.errno, 32769);
    assert.match(e.message, /create application-consistent recovery checkpoint failed for 'web01'.*Access denied.*Hyper-V Administrators/);
    return true;
  });
  assert.equal(hv.calls.filter((c) => c.method === 'CreateSnapshot').length, 1);
  assert.equal(hv.snapshotsOf(VM).length, 0);
});

test('a job that never finishes times out, is terminated, and its checkpoint is destroyed', async () => {
  const { hv, fakes, clock } = setup();
  hv.fail('CreateSnapshot', { hang: true, leaveSnapshot: true });
  const start = clock.now();
  await assert.rejects(api().createRecoveryCheckpoint({ vmId: VM, consistency: 'crash', jobTimeoutMs: 30_000, pollIntervalMs: 7_000 }, fakes), (e: any) => {
    assert.equal(e.code, 'ERR_TIMEOUT');
    assert.match(e.message, /did not finish within 30 s .*Running.*terminate/);
    assert.match(e.message, /the checkpoint the failed job left behind was destroyed/);
    return true;
  });
  // Polled until the deadline and not a moment longer (7+7+7+7+2 s); then the cleanup job's two polls.
  assert.deepEqual(clock.sleeps, [7000, 7000, 7000, 7000, 2000, 7000, 7000]);
  assert.equal(clock.now() - start, 30_000 + 14_000);
  const terminate = hv.calls.find((c) => c.method === 'RequestStateChange');
  assert.equal(terminate?.params.RequestedState, 4);
  assert.equal(hv.snapshotsOf(VM).length, 0, 'no stray checkpoint');
  assert.ok(hv.calls.some((c) => c.method === 'DestroySnapshot'));
});

test('when listing the frozen disks fails, the new checkpoint is destroyed and the WMI error explained', async () => {
  const { hv, fakes } = setup();
  hv.fail('query:Msvm_StorageAllocationSettingData', {
    hresult: 0x80041001,
    when: () => hv.snapshotsOf(VM).length > 0,
    once: true,
  });
  await assert.rejects(api().createRecoveryCheckpoint({ vmId: VM, consistency: 'crash', ...timeouts }, fakes), (e: any) => {
    assert.equal(e.code, 'ERR_OS');
    assert.equal(e.errno >>> 0, 0x80041001);
    assert.match(e.message, /WBEM_E_FAILED \(0x80041001\).*VMMS-Admin/);
    assert.match(e.message, /\(the checkpoint was destroyed\)/);
    return true;
  });
  assert.equal(hv.snapshotsOf(VM).length, 0);
});

test('commit converts the checkpoint only then destroys the older reference point', async () => {
  const { hv, fakes } = setup();
  const first = await api().createRecoveryCheckpoint({ vmId: VM, consistency: 'crash', ...timeouts }, fakes);
  const c1 = await api().commitReferencePoint({ vmId: VM, snapshotPath: first.snapshotPath, ...timeouts }, fakes);
  assert.equal(c1.previousDestroyed, false);
  assert.equal(hv.snapshotsOf(VM).length, 0, 'ConvertToReferencePoint deletes the checkpoint');
  assert.equal(c1.referencePoint.rctIds.length, 2);
  assert.equal(c1.referencePoint.virtualDiskIds.length, 2);

  const second = await api().createRecoveryCheckpoint({ vmId: VM, consistency: 'crash', ...timeouts }, fakes);
  hv.calls.length = 0;
  const c2 = await api().commitReferencePoint(
    { vmId: VM, snapshotPath: second.snapshotPath, previousReferencePoint: c1.referencePoint.path, ...timeouts },
    fakes,
  );
  assert.equal(c2.previousDestroyed, true);
  assert.deepEqual(
    hv.calls.map((c) => c.method),
    ['ConvertToReferencePoint', 'DestroyReferencePoint'],
  );
  assert.deepEqual(
    hv.referencePointsOf(VM).map((r) => r.path),
    [c2.referencePoint.path],
  );
  const listed = await api().listReferencePoints({ vmId: VM }, fakes);
  assert.deepEqual(listed.map((r) => r.instanceId), [c2.referencePoint.instanceId]);
});

test('a failed conversion destroys the checkpoint and keeps the previous reference point', async () => {
  const { hv, fakes } = setup();
  const first = await api().createRecoveryCheckpoint({ vmId: VM, consistency: 'crash', ...timeouts }, fakes);
  const c1 = await api().commitReferencePoint({ vmId: VM, snapshotPath: first.snapshotPath, ...timeouts }, fakes);
  const second = await api().createRecoveryCheckpoint({ vmId: VM, consistency: 'crash', ...timeouts }, fakes);
  hv.fail('ConvertToReferencePoint', { returnValue: 32775 });
  await assert.rejects(
    api().commitReferencePoint({ vmId: VM, snapshotPath: second.snapshotPath, previousReferencePoint: c1.referencePoint.path, ...timeouts }, fakes),
    (e: any) => {
      assert.equal(e.code, 'ERR_INVALID_STATE');
      assert.match(e.message, /Invalid state for this operation/);
      assert.match(e.message, /the checkpoint was destroyed; the previous reference point is kept/);
      return true;
    },
  );
  assert.equal(hv.snapshotsOf(VM).length, 0);
  assert.deepEqual(hv.referencePointsOf(VM).map((r) => r.path), [c1.referencePoint.path]);
  assert.ok(!hv.calls.some((c) => c.method === 'DestroyReferencePoint'));
});

test('a previous reference point that cannot be destroyed is a warning, not a failed commit', async () => {
  const { hv, fakes } = setup();
  const cp = await api().createRecoveryCheckpoint({ vmId: VM, consistency: 'crash', ...timeouts }, fakes);
  const missing = '\\\\HOST\\root\\virtualization\\v2:Msvm_VirtualSystemReferencePoint.InstanceID="gone"';
  const c = await api().commitReferencePoint({ vmId: VM, snapshotPath: cp.snapshotPath, previousReferencePoint: missing, ...timeouts }, fakes);
  assert.equal(c.previousDestroyed, false);
  assert.match(c.warning!, /previous reference point could not be destroyed.*WBEM_E_NOT_FOUND/);
  assert.equal(hv.referencePointsOf(VM).length, 1);
});

test('discarding a checkpoint destroys it', async () => {
  const { hv, fakes } = setup();
  const cp = await api().createRecoveryCheckpoint({ vmId: VM, consistency: 'crash', ...timeouts }, fakes);
  await api().discardCheckpoint({ snapshotPath: cp.snapshotPath, ...timeouts }, fakes);
  assert.equal(hv.snapshotsOf(VM).length, 0);
  assert.equal(hv.referencePointsOf(VM).length, 0);
});

test('a VM below configuration version 6.2 gets the checkpoint tracker and standard checkpoints', async () => {
  const { hv, fakes } = setup('5.0');
  const info = await api().describeVm({ vmId: VM }, fakes);
  assert.equal(info.rctSupported, false);
  assert.equal(info.changeTracking, 'checkpoint');
  assert.match(info.changeTrackingNote!, /configuration version 5\.0.*6\.2.*Update-VMVersion -Name 'web01'/);
  const cp = await api().createRecoveryCheckpoint({ vmId: VM, consistency: 'crash', ...timeouts }, fakes);
  assert.equal(cp.kind, 'standard');
  assert.equal(hv.calls.find((c) => c.method === 'CreateSnapshot')!.params.SnapshotType, 2);
  // Committing a standard checkpoint keeps it (it is the reference) and merges the previous one away.
  const c1 = await api().commitReferencePoint({ vmId: VM, snapshotPath: cp.snapshotPath, ...timeouts }, fakes);
  assert.equal(c1.referencePoint.path, cp.snapshotPath);
  const cp2 = await api().createRecoveryCheckpoint({ vmId: VM, consistency: 'crash', ...timeouts }, fakes);
  const c2 = await api().commitReferencePoint({ vmId: VM, snapshotPath: cp2.snapshotPath, previousReferencePoint: cp.snapshotPath, ...timeouts }, fakes);
  assert.equal(c2.previousDestroyed, true);
  assert.deepEqual(hv.snapshotsOf(VM).map((s) => s.path), [cp2.snapshotPath]);
});

test('exporting the configuration asks for the checkpoint only, without disks', async () => {
  const { hv, fakes } = setup();
  const cp = await api().createRecoveryCheckpoint({ vmId: VM, consistency: 'crash', ...timeouts }, fakes);
  // The fake writes the exported files for real, so the folder is a scratch one.
  const scratch = tempDir('hyperv-export');
  try {
    await api().exportConfiguration({ vmId: VM, snapshotPath: cp.snapshotPath, directory: scratch.path, ...timeouts }, fakes);
  } finally {
    scratch.cleanup();
  }
  const call = hv.calls.find((c) => c.method === 'ExportSystemDefinition')!;
  assert.equal(call.params.ExportDirectory, scratch.path);
  const s = hv.embedded.get(String(call.params.ExportSettingData))!.properties;
  assert.equal(s.CopySnapshotConfiguration, 3);
  assert.equal(s.SnapshotVirtualSystem, cp.snapshotPath);
  assert.equal(s.CopyVmStorage, false);
  assert.equal(s.BackupIntent, 1);
});

test('WMI errors become NativeError with the HRESULT and what to do', async () => {
  const { hv, fakes } = setup();
  await assert.rejects(api().describeVm({ vmId: '11111111-2222-3333-4444-555555555555' }, fakes), (e: any) => {
    assert.equal(e.code, 'ERR_NOT_FOUND');
    assert.match(e.message, /no virtual machine with id 11111111-2222-3333-4444-555555555555.*Get-VM/);
    return true;
  });
  await assert.rejects(api().describeVm({ vmId: "x' OR Name<>'" }, fakes), (e: any) => e.code === 'ERR_INVALID_ARGUMENT');
  hv.unavailable = true;
  await assert.rejects(api().listVms(fakes), (e: any) => {
    assert.equal(e.code, 'ERR_HYPERV_UNAVAILABLE');
    assert.equal(e.errno >>> 0, 0x8004100e);
    assert.match(e.message, /WBEM_E_INVALID_NAMESPACE.*Install-WindowsFeature Hyper-V/);
    return true;
  });
});

test('inventory reports generation, processors, memory, adapters, disks and configuration version', async () => {
  const hv = new FakeHyperV();
  hv.addVm({
    id: VM,
    name: 'db01',
    version: '8.0',
    generation: 1,
    processors: 4,
    memoryMB: 8192,
    state: 3,
    disks: [{ path: 'D:\\db01.vhdx', virtualSize: 4096 * 1024 }],
    nics: [
      { name: 'LAN', mac: '00155D010203', switchName: 'External' },
      { name: 'Backup', mac: '00155D010204' },
    ],
  });
  const vms = await api().listVms({ wmi: hv, clock: new FakeClock() });
  assert.deepEqual(vms, [{ id: VM, name: 'db01', state: 'off', enabledState: 3 }]);
  const info = await api().describeVm({ vmId: VM }, { wmi: hv, clock: new FakeClock() });
  assert.equal(info.generation, 1);
  assert.equal(info.processors, 4);
  assert.equal(info.memoryMB, 8192);
  assert.equal(info.configurationVersion, '8.0');
  assert.equal(info.changeTracking, 'rct');
  assert.deepEqual(
    info.networkAdapters.map((n) => [n.name, n.macAddress, n.connected]),
    [
      ['LAN', '00155D010203', true],
      ['Backup', '00155D010204', false],
    ],
  );
  assert.deepEqual(info.disks.map((d) => [d.path, d.virtualSize, d.logicalSectorSize]), [['D:\\db01.vhdx', 4096 * 1024, 512]]);
});
