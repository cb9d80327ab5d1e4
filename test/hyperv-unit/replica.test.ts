/** Replica side: realising a VM from the primary's exported configuration, test VMs, state, failover IPs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hypervBinding, type HyperVFakes } from '../../src/host/hyperv/native.js';
import { FakeClock, FakeHyperV } from './fake-hyperv.js';

const SRC = '0d2c4a5e-1b7f-4c3d-9e8a-6f5b4c3d2e1a';
const DEV = '83F8638B-8DCA-4152-9EDA-2CA8B33039B4';
const VMCX = 'E:\\Replica\\web01\\Virtual Machines\\0D2C4A5E.vmcx';
const api = () => hypervBinding();
const timeouts = { jobTimeoutMs: 60_000, pollIntervalMs: 100 };

function setup() {
  const hv = new FakeHyperV();
  hv.addVm({
    id: SRC,
    name: 'web01',
    state: 3,
    disks: [{ path: 'D:\\primary\\os.vhdx' }, { path: 'D:\\primary\\data.vhdx', slot: 1 }],
    nics: [{ name: 'LAN', mac: '00-15-5D-01-02-03', switchName: 'External' }],
  });
  hv.exportedDefinition(VMCX, SRC);
  const fakes: HyperVFakes = { wmi: hv, clock: new FakeClock() };
  const disks = [
    { deviceKey: `${DEV}\\0\\0\\L`, path: 'E:\\Replica\\web01\\os.vhdx' },
    { deviceKey: `${DEV}\\0\\1\\L`, path: 'E:\\Replica\\web01\\data.vhdx' },
  ];
  return { hv, fakes, disks };
}

test('a replica VM is imported, pointed at the replica disks, validated and realised, in that order', async () => {
  const { hv, fakes, disks } = setup();
  // Realising with the same id as the primary needs the primary gone from this (fake) host.
  const vm = await api().realizeReplicaVm({ definitionFile: VMCX, snapshotFolder: 'E:\\Replica\\web01', generateNewId: true, disks, ...timeouts }, fakes);
  assert.equal(vm.name, 'web01');
  assert.equal(vm.state, 'off');
  assert.deepEqual(
    hv.calls.map((c) => c.method),
    ['ImportSystemDefinition', 'ModifyResourceSettings', 'ValidatePlannedSystem', 'RealizePlannedSystem'],
  );
  assert.equal(hv.calls[0]!.params.GenerateNewSystemIdentifier, true);
  assert.deepEqual(
    hv.vmDisks(vm.id).map((d) => (d.properties.HostResource as string[])[0]),
    ['E:\\Replica\\web01\\os.vhdx', 'E:\\Replica\\web01\\data.vhdx'],
  );
  assert.equal(hv.plannedSystems().length, 0);
});

test('a test VM gets its own name and a disconnected network', async () => {
  const { fakes, disks } = setup();
  const vm = await api().realizeReplicaVm(
    { definitionFile: VMCX, generateNewId: true, newName: 'web01 - Test', disconnectNetwork: true, disks, ...timeouts },
    fakes,
  );
  assert.equal(vm.name, 'web01 - Test');
  assert.notEqual(vm.id.toLowerCase(), SRC);
  const info = await api().describeVm({ vmId: vm.id }, fakes);
  assert.deepEqual(info.networkAdapters.map((n) => n.connected), [false]);
});

test('a configuration disk without a replica disk is refused and the planned VM removed', async () => {
  const { hv, fakes, disks } = setup();
  await assert.rejects(
    api().realizeReplicaVm({ definitionFile: VMCX, generateNewId: true, disks: disks.slice(0, 1), ...timeouts }, fakes),
    (e: any) => {
      assert.equal(e.code, 'ERR_NOT_FOUND');
      assert.match(e.message, /disks with no replica disk \(83F8638B-8DCA-4152-9EDA-2CA8B33039B4\\0\\1\\L\).*\(the planned VM was removed\)/);
      return true;
    },
  );
  assert.equal(hv.plannedSystems().length, 0);
  assert.equal(hv.calls.at(-1)!.method, 'DestroySystem');
});

test('a failed validation removes the planned VM', async () => {
  const { hv, fakes, disks } = setup();
  hv.fail('ValidatePlannedSystem', { jobState: 10, errorCode: 32773, errorDescription: "The switch 'External' does not exist" });
  await assert.rejects(api().realizeReplicaVm({ definitionFile: VMCX, generateNewId: true, disks, ...timeouts }, fakes), (e: any) => {
    assert.equal(e.code, 'ERR_INVALID_ARGUMENT');
    assert.match(e.message, /validate the replica VM failed.*Invalid parameter.*The switch 'External' does not exist.*planned VM was removed/);
    return true;
  });
  assert.equal(hv.plannedSystems().length, 0);
  assert.ok(!hv.calls.some((c) => c.method === 'RealizePlannedSystem'));
});

test('an import of a missing file reports the Win32 error inside the HRESULT', async () => {
  const { fakes, disks } = setup();
  await assert.rejects(api().realizeReplicaVm({ definitionFile: 'E:\\nope.vmcx', disks, ...timeouts }, fakes), (e: any) => {
    assert.equal(e.errno >>> 0, 0x80070002);
    assert.match(e.message, /ImportSystemDefinition/);
    return true;
  });
});

test('start, turn off and remove go through RequestStateChange and DestroySystem', async () => {
  const { hv, fakes } = setup();
  await api().setVmState({ vmId: SRC, state: 'running', ...timeouts }, fakes);
  assert.equal(hv.objects.get(hv.vmPath(SRC))!.properties.EnabledState, 2);
  await assert.rejects(api().destroyVm({ vmId: SRC, ...timeouts }, fakes), (e: any) => e.code === 'ERR_INVALID_STATE' && /turn it off/.test(e.message));
  await api().setVmState({ vmId: SRC, state: 'off', ...timeouts }, fakes);
  assert.deepEqual(hv.calls.filter((c) => c.method === 'RequestStateChange').map((c) => c.params.RequestedState), [2, 3]);
  await api().destroyVm({ vmId: SRC, ...timeouts }, fakes);
  assert.equal(hv.objects.has(hv.vmPath(SRC)), false);
  // A clean shutdown needs the shutdown integration service, which this VM lacks.
  hv.addVm({ id: SRC, name: 'web01', disks: [] });
  await assert.rejects(api().setVmState({ vmId: SRC, state: 'shutdown', ...timeouts }, fakes), (e: any) => e.code === 'ERR_NOT_SUPPORTED');
});

test('failover TCP/IP settings reach the guest adapter chosen by MAC address', async () => {
  const { hv, fakes } = setup();
  await api().setGuestNetwork(
    {
      vmId: SRC,
      adapters: [{ macAddress: '00155d010203', dhcp: false, ipAddresses: ['10.1.0.20'], subnets: ['255.255.255.0'], gateways: ['10.1.0.1'], dnsServers: ['10.1.0.2', '10.1.0.3'] }],
      ...timeouts,
    },
    fakes,
  );
  const call = hv.calls.find((c) => c.method === 'SetGuestNetworkAdapterConfiguration')!;
  assert.equal(call.params.ComputerSystem, hv.vmPath(SRC));
  const cfg = hv.embedded.get((call.params.NetworkConfiguration as string[])[0]!)!;
  assert.match(cfg.classOrPath, /Msvm_GuestNetworkAdapterConfiguration/);
  assert.deepEqual(cfg.properties.IPAddresses, ['10.1.0.20']);
  assert.deepEqual(cfg.properties.DNSServers, ['10.1.0.2', '10.1.0.3']);
  assert.equal(cfg.properties.DHCPEnabled, false);
  assert.equal(cfg.properties.ProtocolIFType, 4096);
  await assert.rejects(
    api().setGuestNetwork({ vmId: SRC, adapters: [{ macAddress: '00155dffffff', dhcp: true, ipAddresses: [], subnets: [], gateways: [], dnsServers: [] }] }, fakes),
    (e: any) => e.code === 'ERR_NOT_FOUND' && /no synthetic network adapter with MAC 00155dffffff/.test(e.message),
  );
  await assert.rejects(
    api().setGuestNetwork({ vmId: SRC, adapters: [{ macAddress: '00155d010203', dhcp: false, ipAddresses: ['10.0.0.1'], subnets: [], gateways: [], dnsServers: [] }] }, fakes),
    (e: any) => e.code === 'ERR_INVALID_ARGUMENT' && /needs its subnet/.test(e.message),
  );
});

test('differencing disks for a test VM are created by Hyper-V over the replica disk', async () => {
  const { hv, fakes } = setup();
  await api().createDifferencingDisk({ path: 'E:\\Test\\os.avhdx', parentPath: 'E:\\Replica\\web01\\os.vhdx', ...timeouts }, fakes);
  const call = hv.calls.find((c) => c.method === 'CreateVirtualHardDisk')!;
  const s = hv.embedded.get(String(call.params.VirtualDiskSettingData))!.properties;
  assert.deepEqual([s.Type, s.Format, s.Path, s.ParentPath], [4, 3, 'E:\\Test\\os.avhdx', 'E:\\Replica\\web01\\os.vhdx']);
});

test('IPv6 and dual-stack failover settings name their protocol; an IPv6 subnet is its prefix length', async () => {
  const { hv, fakes } = setup();
  const set = async (ipAddresses: string[], subnets: string[]) => {
    await api().setGuestNetwork({ vmId: SRC, adapters: [{ macAddress: '00155d010203', dhcp: false, ipAddresses, subnets, gateways: [], dnsServers: [] }], ...timeouts }, fakes);
    const call = hv.calls.filter((c) => c.method === 'SetGuestNetworkAdapterConfiguration').at(-1)!;
    return hv.embedded.get((call.params.NetworkConfiguration as string[])[0]!)!.properties;
  };
  const v6 = await set(['2001:db8::20'], ['64']);
  assert.deepEqual([v6.ProtocolIFType, v6.IPAddresses, v6.Subnets], [4097, ['2001:db8::20'], ['64']]);
  const both = await set(['10.1.0.20', '2001:db8::20'], ['255.255.255.0', '64']);
  assert.deepEqual([both.ProtocolIFType, both.Subnets], [4098, ['255.255.255.0', '64']]);
  assert.equal((await set(['10.1.0.20'], ['255.255.255.0'])).ProtocolIFType, 4096);
});

test('a VM\'s drives are pointed at other files of the same size, only while it is off and without checkpoints', async () => {
  const { hv, fakes } = setup();
  hv.diskSizes.set('F:\\moved\\os.vhdx', 1 << 30);
  hv.diskSizes.set('F:\\moved\\small.vhdx', 1 << 20);
  const key = `${DEV}\\0\\0\\L`;
  await api().setVmDisks({ vmId: SRC, disks: [{ deviceKey: key, path: 'F:\\moved\\os.vhdx' }], ...timeouts }, fakes);
  const modify = hv.calls.find((c) => c.method === 'ModifyResourceSettings')!;
  const changes = (modify.params.ResourceSettings as string[]).map((t) => hv.embedded.get(t)!);
  assert.equal(changes.length, 1, 'only the named drive changes');
  assert.match(changes[0]!.classOrPath, /Msvm_StorageAllocationSettingData\.InstanceID=".*\\0\\0\\L"/);
  assert.deepEqual(changes[0]!.properties.HostResource, ['F:\\moved\\os.vhdx']);
  assert.deepEqual(hv.vmDisks(SRC).map((d) => (d.properties.HostResource as string[])[0]), ['F:\\moved\\os.vhdx', 'D:\\primary\\data.vhdx']);
  await assert.rejects(api().setVmDisks({ vmId: SRC, disks: [{ deviceKey: key, path: 'F:\\moved\\small.vhdx' }], ...timeouts }, fakes), (e: any) => {
    assert.equal(e.code, 'ERR_INVALID_ARGUMENT');
    assert.match(e.message, /F:\\moved\\small\.vhdx' is 1048576 bytes .* is 1073741824 bytes/);
    return true;
  });
  await assert.rejects(api().setVmDisks({ vmId: SRC, disks: [{ deviceKey: `${DEV}\\1\\7\\L`, path: 'F:\\moved\\os.vhdx' }], ...timeouts }, fakes), (e: any) => e.code === 'ERR_NOT_FOUND' && /Get-VMHardDiskDrive/.test(e.message));
  await api().createRecoveryCheckpoint({ vmId: SRC, consistency: 'crash', ...timeouts }, fakes);
  await assert.rejects(api().setVmDisks({ vmId: SRC, disks: [{ deviceKey: key, path: 'F:\\moved\\os.vhdx' }], ...timeouts }, fakes), (e: any) => e.code === 'ERR_INVALID_STATE' && /has checkpoints/.test(e.message));
  await api().setVmState({ vmId: SRC, state: 'running', ...timeouts }, fakes);
  await assert.rejects(api().setVmDisks({ vmId: SRC, disks: [{ deviceKey: key, path: 'F:\\moved\\os.vhdx' }], ...timeouts }, fakes), (e: any) => e.code === 'ERR_INVALID_STATE' && /turn it off/.test(e.message));
});
