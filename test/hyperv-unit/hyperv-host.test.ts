/** The Hyper-V HostAdapter over the WMI and virtdisk fakes: the engine's view of one cycle and of failover. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fromWire, toWire } from '../../src/host/hyperv/exported-definition.js';
import { HyperVHost } from '../../src/host/hyperv/hyperv-host.js';
import { parseReplicaVmDefinition } from '../../src/protocol/replica-vm.js';
import { FAKE_VMGS_BYTES, FakeClock, FakeHyperV } from './fake-hyperv.js';
import { FakeRawDisk } from './fake-virtdisk.js';

const VM = '0d2c4a5e-1b7f-4c3d-9e8a-6f5b4c3d2e1a';
/** A replica VM definition around the shipped configuration, as the primary sends it. */
const DEFINITION = {
  FormatVersion: 1,
  VMId: VM,
  VMName: 'web01',
  Disks: [{ DiskId: 'aaaaaaaa-1111-4222-8333-444455556666', VirtualSize: 1 << 20, LogicalSectorSize: 512 }],
  RecoveryHistory: 0,
  VSSSnapshotFrequencyHour: 0,
  ReplicationFrequencySec: 300,
  Configuration: {},
};
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function setup() {
  const stateDir = mkdtempSync(join(tmpdir(), 'hvr-hyperv-'));
  dirs.push(stateDir);
  const hv = new FakeHyperV();
  hv.addVm({
    id: VM,
    name: 'web01',
    disks: [{ path: 'D:\\web01\\os.vhdx', virtualSize: 1 << 20 }, { path: 'D:\\web01\\data.vhdx', slot: 1, virtualSize: 1 << 20 }],
    nics: [{ name: 'LAN', mac: '00155D010203', switchName: 'External' }],
  });
  const disk = new FakeRawDisk(1 << 20);
  const rctIds = new Map<string, string>();
  const host = new HyperVHost({
    stateDir,
    timeouts: { pollIntervalMs: 10 },
    fakes: { wmi: hv, clock: new FakeClock(), virtdisk: disk },
    currentRctId: async (path) => rctIds.get(path) ?? `rctX:00000000:0000:0000:0000:${path.length.toString().padStart(12, '0')}:00000001`,
  });
  return { hv, host, disk, stateDir };
}

test('one cycle: create a point, read its frozen disk, commit it; the next commit replaces it', async () => {
  const { hv, host, disk, stateDir } = setup();
  const vm = await host.getVm('web01');
  assert.equal(vm.configuration.generation, 2);
  assert.equal(vm.disks.length, 2);
  assert.equal(vm.disks[0]!.virtualSize, 1 << 20);

  const p1 = await host.createReferencePoint('web01', { consistency: 'application' });
  assert.equal(p1.state, 'frozen');
  assert.equal(p1.tracker, 'rct');
  assert.deepEqual(p1.disks.map((d) => d.frozenPath), ['D:\\web01\\os.vhdx', 'D:\\web01\\data.vhdx']);
  const image = await host.openDiskAt(VM, p1.id, vm.disks[0]!.id);
  assert.ok((await image.read(4096, 512)).equals(disk.data.subarray(4096, 4608)));
  await image.close();

  const c1 = await host.commitReferencePoint('web01', p1.id);
  assert.equal(c1.state, 'committed');
  // The tracking ids are now the reference point's RCT ids, matched disk by disk.
  const rp = hv.referencePointsOf(VM)[0]!;
  assert.deepEqual(c1.disks.map((d) => d.trackingId), rp.properties.ResilientChangeTrackingIdentifiers);
  assert.deepEqual(await host.commitReferencePoint('web01', p1.id), c1, 'idempotent');

  const p2 = await host.createReferencePoint(VM);
  await host.commitReferencePoint(VM, p2.id);
  assert.equal(hv.referencePointsOf(VM).length, 1, 'the older reference point was destroyed');
  const saved = JSON.parse(readFileSync(join(stateDir, 'hyperv', `${VM}.json`), 'utf8'));
  assert.equal(saved.committed.id, p2.id);
  assert.deepEqual(saved.frozen, []);
});

test('a discarded point leaves no checkpoint and no state', async () => {
  const { hv, host } = setup();
  const p = await host.createReferencePoint('web01');
  await host.discardReferencePoint('web01', p.id);
  assert.equal(hv.snapshotsOf(VM).length, 0);
  assert.deepEqual((await host.getVm('web01')).referencePoints, []);
  await assert.rejects(host.discardReferencePoint('web01', p.id), (e: any) => e.code === 'ERR_NOT_FOUND');
});

test('a failure after the checkpoint exists destroys it', async () => {
  const { hv, host, stateDir } = setup();
  const failing = new HyperVHost({
    stateDir,
    fakes: { wmi: hv, clock: new FakeClock() },
    currentRctId: async () => {
      throw Object.assign(new Error('RCT is off for this disk'), { code: 'ERR_RESYNC_REQUIRED' });
    },
  });
  await assert.rejects(failing.createReferencePoint('web01'), /RCT is off/);
  assert.equal(hv.snapshotsOf(VM).length, 0);
  void host;
});

test('names resolve to ids; unknown and ambiguous names are refused', async () => {
  const { hv, host } = setup();
  await assert.rejects(host.getVm('nope'), (e: any) => e.code === 'ERR_NOT_FOUND');
  hv.addVm({ id: '11111111-2222-3333-4444-555555555555', name: 'web01', disks: [] });
  await assert.rejects(host.getVm('web01'), (e: any) => e.code === 'ERR_AMBIGUOUS');
  assert.equal((await host.getVm(VM.toUpperCase())).id, VM);
});

test('failover: replica VM from the shipped configuration, test VM with its own layers, failover addresses, removal', async () => {
  const { hv, host, stateDir } = setup();
  const source = await host.getVm('web01');
  // The primary exports the definition only (no checkpoints, no disks) and ships it with the VM definition.
  const exported = await host.exportDefinition('web01');
  const exportCall = hv.calls.find((c) => c.method === 'ExportSystemDefinition')!;
  const exportSettings = hv.embedded.get(String(exportCall.params.ExportSettingData))!.properties;
  assert.deepEqual([exportSettings.CopySnapshotConfiguration, exportSettings.CopyVmStorage, exportSettings.SnapshotVirtualSystem], [1, false, undefined]);
  assert.deepEqual(exported.files.map((f) => f.path).sort(), [`Virtual Machines/${VM.toUpperCase()}.vmcx`, `Virtual Machines/${VM.toUpperCase()}.vmgs`]);
  assert.ok(exported.files.every((f) => f.gzipBase64.length < 64 * 1024), 'the mostly empty guest state compresses');
  assert.deepEqual(readdirSync(join(stateDir, 'hyperv', 'export')), [], 'the export folder is gone once read');
  // Over the wire and back, as the replica server receives it.
  const wire = parseReplicaVmDefinition(JSON.parse(JSON.stringify({ ...DEFINITION, VMId: VM, HostConfiguration: toWire(exported) })));
  const configuration = { ...source.configuration, exportedDefinition: fromWire(wire.HostConfiguration!) };

  const replicaDisks = source.disks.map((d, i) => ({ diskId: d.id, path: `E:\\Replica\\web01\\disk${i}.vhdx` }));
  for (const d of replicaDisks) hv.diskSizes.set(d.path, 1 << 20);
  // Primary and replica share this fake host, and a replica keeps the primary's id: remove the
  // primary first, as if the replica were another host.
  await host.stopVm(VM, { force: true });
  hv.removeVm(VM);
  const location = join(stateDir, 'replica', 'web01');
  const replica = await host.registerReplicaVm(configuration, replicaDisks, { location });
  assert.equal(replica.isReplica, true);
  assert.equal(replica.id, VM);
  assert.deepEqual(hv.importedFiles, [join(location, 'Virtual Machines', `${VM.toUpperCase()}.vmcx`)], 'imported from the shipped file');
  assert.equal(readFileSync(join(location, 'Virtual Machines', `${VM.toUpperCase()}.vmgs`)).length, FAKE_VMGS_BYTES);
  assert.equal(hv.calls.find((c) => c.method === 'ImportSystemDefinition')!.params.GenerateNewSystemIdentifier, false);
  assert.deepEqual(
    hv.vmDisks(VM).map((d) => (d.properties.HostResource as string[])[0]),
    replicaDisks.map((d) => d.path),
    'the replica VM uses the replica disks, not the primary\'s',
  );

  const testVm = await host.createTestVm(configuration, replicaDisks, { location: join(stateDir, 'test') });
  assert.equal(testVm.isTestVm, true);
  assert.equal(testVm.name, 'web01 - Test');
  const layers = hv.calls.filter((c) => c.method === 'CreateVirtualHardDisk').map((c) => hv.embedded.get(String(c.params.VirtualDiskSettingData))!.properties);
  assert.deepEqual(layers.map((l) => l.ParentPath), replicaDisks.map((d) => d.path));
  const testInfo = await host.getVm(testVm.id);
  assert.ok(testInfo.disks.every((d) => d.basePath.endsWith('.avhdx')), 'the test VM writes into its own layers');
  assert.deepEqual(testInfo.configuration.networkAdapters.map((n) => n.switchName), [undefined]);

  const replicaInfo = await host.getVm(VM);
  await host.setFailoverNetwork(VM, [
    { adapterId: replicaInfo.configuration.networkAdapters[0]!.id, ipv4Address: '10.9.0.5', ipv4SubnetMask: '255.255.0.0', ipv4PreferredDns: '10.9.0.1' },
  ]);
  const guest = hv.calls.find((c) => c.method === 'SetGuestNetworkAdapterConfiguration')!;
  assert.deepEqual(hv.embedded.get((guest.params.NetworkConfiguration as string[])[0]!)!.properties.IPAddresses, ['10.9.0.5']);

  await assert.rejects(host.removeTestVm(VM), (e: any) => e.code === 'ERR_INVALID_STATE');
  // Replication to the same host: the primary is still here, so the replica needs a new id.
  hv.addVm({ id: '22222222-3333-4444-5555-666666666666', name: 'local', disks: [{ path: 'D:\\local.vhdx' }] });
  const local = await host.getVm('local');
  const localConfig = { ...local.configuration, exportedDefinition: await host.exportDefinition('local') };
  hv.diskSizes.set('E:\\Replica\\local\\0.vhdx', 1 << 20);
  const localReplica = await host.registerReplicaVm(localConfig, [{ diskId: local.disks[0]!.id, path: 'E:\\Replica\\local\\0.vhdx' }], {
    location: join(stateDir, 'replica', 'local'),
    name: 'local - Replica',
  });
  assert.notEqual(localReplica.id, local.id);
  assert.equal(localReplica.name, 'local - Replica');
  assert.equal((await host.getVm(localReplica.id)).isReplica, true);
  // Remove-VMReplication on a replica keeps its VM as an ordinary one (src/failover/remove-replica.ts).
  hv.diskSizes.set('E:\\Replica\\local\\kept.vhdx', 1 << 20);
  const kept = await host.registerReplicaVm(localConfig, [{ diskId: local.disks[0]!.id, path: 'E:\\Replica\\local\\kept.vhdx' }], {
    location: join(stateDir, 'kept', 'local'),
    name: 'local - Kept',
    ordinary: true,
  });
  assert.deepEqual([kept.isReplica, (await host.getVm(kept.id)).isReplica], [false, false]);
  await host.removeTestVm(testVm.id);
  assert.equal(hv.objects.has(hv.vmPath(testVm.id)), false);
});

test('a replica is never realised from a configuration without, or with a damaged, shipped definition', async () => {
  const { hv, host, stateDir } = setup();
  const source = await host.getVm('web01');
  const disks = source.disks.map((d, i) => ({ diskId: d.id, path: `E:\\R\\${i}.vhdx` }));
  await assert.rejects(host.registerReplicaVm(source.configuration, disks, { location: join(stateDir, 'r0') }), (e: any) => {
    assert.equal(e.code, 'ERR_VM_CONFIG_INVALID');
    assert.match(e.message, /carries no Hyper-V definition.*initial start/);
    return true;
  });
  const exported = await host.exportDefinition('web01');
  const damaged = { ...exported, files: exported.files.map((f) => (f.path.endsWith('.vmgs') ? { ...f, sha256: '0'.repeat(64) } : f)) };
  await assert.rejects(host.createTestVm({ ...source.configuration, exportedDefinition: damaged }, disks, { location: join(stateDir, 't0') }), (e: any) => {
    assert.equal(e.code, 'ERR_VM_CONFIG_INVALID');
    assert.match(e.message, /\.vmgs of 'web01' is damaged/);
    return true;
  });
  const escaping = { ...exported, files: [{ ...exported.files[0]!, path: '../outside.vmcx' }] };
  await assert.rejects(host.createTestVm({ ...source.configuration, exportedDefinition: escaping }, disks, { location: join(stateDir, 't1') }), (e: any) => e.code === 'ERR_INVALID_ARGUMENT');
  assert.equal(existsSync(join(stateDir, 'outside.vmcx')), false);
  assert.ok(!hv.calls.some((c) => c.method === 'ImportSystemDefinition'), 'nothing was imported');
  // The wire format refuses the same before it is stored.
  assert.throws(
    () => parseReplicaVmDefinition({ ...DEFINITION, HostConfiguration: { ...toWire(exported), Files: [{ ...toWire(exported).Files[0], Path: 'C:/x.vmcx' }] } }),
    /must be '\/'-separated names/,
  );
  assert.throws(() => parseReplicaVmDefinition({ ...DEFINITION, HostConfiguration: { ...toWire(exported), Format: 'vmware' } }), /Format "vmware" is not supported/);
});

test('failover TCP/IP: IPv6 and dual stack as Set-VMNetworkAdapterFailoverConfiguration takes them, validated first', async () => {
  const { hv, host } = setup();
  const nic = (await host.getVm(VM)).configuration.networkAdapters[0]!.id;
  const sent = () => {
    const call = hv.calls.filter((c) => c.method === 'SetGuestNetworkAdapterConfiguration').at(-1)!;
    return hv.embedded.get((call.params.NetworkConfiguration as string[])[0]!)!.properties;
  };
  await host.setFailoverNetwork(VM, [
    { adapterId: nic, ipv6Address: '2001:db8:10::5', ipv6SubnetPrefixLength: 64, ipv6DefaultGateway: '2001:db8:10::1', ipv6PreferredDns: '2001:db8:10::53', ipv6AlternateDns: '2001:db8:20::53' },
  ]);
  let cfg = sent();
  assert.deepEqual(
    [cfg.ProtocolIFType, cfg.DHCPEnabled, cfg.IPAddresses, cfg.Subnets, cfg.DefaultGateways, cfg.DNSServers],
    [4097, false, ['2001:db8:10::5'], ['64'], ['2001:db8:10::1'], ['2001:db8:10::53', '2001:db8:20::53']],
  );
  await host.setFailoverNetwork(VM, [
    {
      adapterId: nic,
      ipv4Address: '10.9.0.5',
      ipv4SubnetMask: '255.255.255.0',
      ipv4DefaultGateway: '10.9.0.1',
      ipv4PreferredDns: '10.9.0.53',
      ipv6Address: 'fd00::5',
      ipv6SubnetPrefixLength: 48,
      ipv6PreferredDns: 'fd00::53',
    },
  ]);
  cfg = sent();
  assert.deepEqual(
    [cfg.ProtocolIFType, cfg.IPAddresses, cfg.Subnets, cfg.DefaultGateways, cfg.DNSServers],
    [4098, ['10.9.0.5', 'fd00::5'], ['255.255.255.0', '48'], ['10.9.0.1'], ['10.9.0.53', 'fd00::53']],
  );
  await host.setFailoverNetwork(VM, [{ adapterId: nic }]);
  assert.deepEqual([sent().DHCPEnabled, sent().IPAddresses], [true, []], 'no address: the guest uses DHCP');

  const setCalls = () => hv.calls.filter((c) => c.method === 'SetGuestNetworkAdapterConfiguration').length;
  const calls = setCalls();
  const refused: Array<[Record<string, unknown>, RegExp]> = [
    [{ ipv6Address: 'fd00::5' }, /needs its subnet prefix length \(-IPv6SubnetPrefixLength\)/],
    [{ ipv6Address: 'fd00::5', ipv6SubnetPrefixLength: 129 }, /from 1 to 128/],
    [{ ipv6Address: 'fd00::5', ipv6SubnetPrefixLength: 64.5 }, /from 1 to 128/],
    [{ ipv6Address: '10.0.0.1', ipv6SubnetPrefixLength: 64 }, /'10.0.0.1' is not an IPv6 address/],
    [{ ipv6Address: 'fd00::5', ipv6SubnetPrefixLength: 64, ipv6DefaultGateway: '10.0.0.1' }, /IPv6 default gateway '10.0.0.1'/],
    [{ ipv6PreferredDns: 'fd00::53' }, /needs an IPv6 address \(-IPv6Address\)/],
    [{ ipv4Address: '10.0.0.5', ipv4SubnetMask: '255.0.255.0' }, /not an IPv4 subnet mask/],
    [{ ipv4Address: 'fd00::5', ipv4SubnetMask: '255.255.255.0' }, /is not an IPv4 address/],
    [{ ipv4Address: '10.0.0.5' }, /needs its subnet mask/],
  ];
  for (const [extra, message] of refused) {
    await assert.rejects(host.setFailoverNetwork(VM, [{ adapterId: nic, ...extra }]), (e: any) => {
      assert.equal(e.code, 'ERR_INVALID_ARGUMENT', e.message);
      assert.match(e.message, /adapter 'LAN'/);
      assert.match(e.message, message);
      return true;
    });
  }
  assert.equal(setCalls(), calls, 'nothing invalid reaches the guest');
});

test('RCT through the adapter: the committed point\'s RCT id lists exactly the guest writes since', async () => {
  const { FakeVirtDisk } = await import('../../src/tracking/rct/fake-virtdisk.js');
  const { collectChanges } = await import('../../src/tracking/change-tracker.js');
  const stateDir = mkdtempSync(join(tmpdir(), 'hvr-hyperv-rct-'));
  dirs.push(stateDir);
  const os = 'D:\\web01\\os.vhdx';
  const vd = new FakeVirtDisk();
  vd.addDisk(os, { virtualSize: 1 << 20, granularity: 4096 });
  const hv = new FakeHyperV();
  hv.rctSeal = (path) => vd.seal(path);
  hv.addVm({ id: VM, name: 'web01', disks: [{ path: os, virtualSize: 1 << 20 }] });
  const host = new HyperVHost({ stateDir, fakes: { wmi: hv, clock: new FakeClock() }, rctVirtdisk: vd });
  // Hyper-V turns RCT on for a VM's disks itself; the fake needs it done explicitly.
  const { RctTracker } = await import('../../src/tracking/rct/rct-tracker.js');
  const enabler = await RctTracker.open({ path: os, virtdisk: vd });
  await enabler.enable();
  await enabler.close();
  const diskId = (await host.getVm(VM)).disks[0]!.id;

  const p1 = await host.createReferencePoint(VM);
  const c1 = await host.commitReferencePoint(VM, p1.id);
  vd.write(os, 8192, 4096);
  vd.write(os, 65536, 512);
  const p2 = await host.createReferencePoint(VM);
  const tracker = await host.changeTracker(VM, p2.id, diskId);
  assert.equal(tracker.kind, 'rct');
  const changes = await collectChanges(tracker.changesSince(c1.disks[0]!.trackingId));
  await tracker.close();
  assert.deepEqual(
    changes.map((c) => [c.offset, c.length]),
    [
      [8192, 4096],
      [65536, 4096],
    ],
  );
  await host.commitReferencePoint(VM, p2.id);
});

test('a VM below 6.2 gets the checkpoint tracker over the frozen AVHDX since the committed point', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'hvr-hyperv-cp-'));
  dirs.push(stateDir);
  const hv = new FakeHyperV();
  hv.addVm({ id: VM, name: 'old', version: '5.0', disks: [{ path: 'D:\\old\\os.vhdx', virtualSize: 1 << 20 }] });
  const host = new HyperVHost({ stateDir, fakes: { wmi: hv, clock: new FakeClock() } });
  const diskId = (await host.getVm(VM)).disks[0]!.id;
  const p1 = await host.createReferencePoint(VM);
  assert.equal(p1.tracker, 'checkpoint');
  await host.commitReferencePoint(VM, p1.id);
  const p2 = await host.createReferencePoint(VM);
  assert.match(p2.disks[0]!.frozenPath, /\.avhdx$/, 'the layer written since p1 is frozen now');
  const tracker = await host.changeTracker(VM, p2.id, diskId);
  assert.equal(tracker.kind, 'checkpoint');
  assert.equal(tracker.virtualSize, 1 << 20);
  // Changes since anything but the committed point need a resync (the layer records where it starts).
  await assert.rejects(collectChangesOf(tracker, 'some-other-point'), (e: any) => e.code === 'ERR_RESYNC_REQUIRED');
  await tracker.close();
});

async function collectChangesOf(tracker: { changesSince(id: string): AsyncIterable<unknown> }, id: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const x of tracker.changesSince(id)) out.push(x);
  return out;
}
