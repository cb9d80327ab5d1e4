// Runs inside Windows node.exe under Wine (started by wine-hyperv.test.ts, not by node:test): exercises the
// win32 build's Hyper-V code paths that Wine can run — COM/WMI up to the missing namespace, virtdisk
// resolved at run time, the event log, the service dispatcher outside the SCM, and the portable workflow
// against the WMI fake (with real VHDX files for the failover's disk step) — and records each outcome as JSON in the file named by argv[2].
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HyperVHost } from '../../src/host/hyperv/hyperv-host.js';
import { hypervBinding } from '../../src/host/hyperv/native.js';
import { hypervSuiteGate } from '../hyperv/gate.js';
import { NativeError } from '../../src/native/native-error.js';
import { createDisk, openDisk } from '../../src/vhdx/index.js';
import { FakeClock, FakeHyperV } from '../hyperv-unit/fake-hyperv.js';

const outcome: Record<string, unknown> = { platform: process.platform };

async function capture(name: string, run: () => Promise<unknown> | unknown): Promise<void> {
  try {
    outcome[name] = { ok: await run() };
  } catch (error) {
    outcome[name] = { error: error instanceof NativeError ? error.toJSON() : `${(error as Error).name}: ${(error as Error).message}` };
  }
}

try {
  const hv = hypervBinding();
  await capture('listVms', () => hv.listVms());
  await capture('openDisk', () => hv.openDisk({ path: 'Z:\\definitely\\not\\here.vhdx', readOnly: true }));
  await capture('reportEvent', () => hv.reportEvent('hvreplica-wine-test', 2, 1, 'hvreplica Wine test event'));
  await capture('serviceStart', () => hv.serviceStart('hvreplica-wine-test', () => undefined));
  const fake = new FakeHyperV();
  fake.addVm({ id: '0d2c4a5e-1b7f-4c3d-9e8a-6f5b4c3d2e1a', name: 'web01', disks: [{ path: 'D:\\os.vhdx' }] });
  fake.fail('CreateSnapshot', { hang: true, leaveSnapshot: true, once: true });
  await capture('fakeTimeout', () =>
    hv.createRecoveryCheckpoint({ vmId: '0d2c4a5e-1b7f-4c3d-9e8a-6f5b4c3d2e1a', consistency: 'crash', jobTimeoutMs: 5000, pollIntervalMs: 1000 }, { wmi: fake, clock: new FakeClock() }),
  );
  outcome.fakeSnapshotsLeft = fake.snapshotsOf('0d2c4a5e-1b7f-4c3d-9e8a-6f5b4c3d2e1a').length;
  await capture('fakeCheckpoint', async () => (await hv.createRecoveryCheckpoint({ vmId: '0d2c4a5e-1b7f-4c3d-9e8a-6f5b4c3d2e1a', consistency: 'application' }, { wmi: fake, clock: new FakeClock() })).frozenDisks);
  // The gated real-host suite must refuse to run here, saying why (test/hyperv/gate.ts).
  outcome.gate = hypervSuiteGate();
  // IPv6 failover settings and drive re-pointing through the win32 build of the workflow.
  await capture('fakeIpv6', async () => {
    const v6 = new FakeHyperV();
    v6.addVm({ id: '1d2c4a5e-1b7f-4c3d-9e8a-6f5b4c3d2e1a', name: 'v6', state: 3, disks: [{ path: 'D:\\v6.vhdx' }], nics: [{ name: 'LAN', mac: '00155D0A0B0C' }] });
    await hv.setGuestNetwork(
      { vmId: '1d2c4a5e-1b7f-4c3d-9e8a-6f5b4c3d2e1a', adapters: [{ macAddress: '00155d0a0b0c', dhcp: false, ipAddresses: ['10.0.0.5', 'fd00::5'], subnets: ['255.255.255.0', '64'], gateways: [], dnsServers: ['fd00::53'] }] },
      { wmi: v6, clock: new FakeClock() },
    );
    const call = v6.calls.find((c) => c.method === 'SetGuestNetworkAdapterConfiguration')!;
    return v6.embedded.get((call.params.NetworkConfiguration as string[])[0]!)!.properties;
  });
  // The configuration shipped from primary to replica, written and imported with Windows paths.
  await capture('shipping', async () => {
    const ship = new FakeHyperV();
    const id = '2d2c4a5e-1b7f-4c3d-9e8a-6f5b4c3d2e1a';
    ship.addVm({ id, name: 'ship', state: 3, disks: [{ path: 'D:\\ship.vhdx', virtualSize: 1 << 20 }] });
    const scratch = process.argv[3] ?? '.';
    const host = new HyperVHost({ stateDir: join(scratch, 'state'), fakes: { wmi: ship, clock: new FakeClock() } });
    const vm = await host.getVm(id);
    const exportedDefinition = await host.exportDefinition(id);
    ship.removeVm(id);
    ship.diskSizes.set('E:\\replica\\ship.vhdx', 1 << 20);
    const replica = await host.registerReplicaVm({ ...vm.configuration, exportedDefinition }, [{ diskId: vm.disks[0]!.id, path: 'E:\\replica\\ship.vhdx' }], { location: join(scratch, 'replica') });
    return { files: exportedDefinition.files.map((f) => f.path), imported: ship.importedFiles, replicaId: replica.id, location: join(scratch, 'replica') };
  });
  // Complete-VMFailover's disk step in the win32 build: VHDX chains made by the engine with Windows paths,
  // the VM's layer carried onto a standalone copy, the drive re-pointed, the old chain deleted.
  await capture('rebase', async () => {
    const fake = new FakeHyperV();
    const scratch = join(process.argv[3] ?? '.', 'rebase');
    mkdirSync(join(scratch, 'disks'), { recursive: true });
    const base = join(scratch, 'point.vhdx');
    const layer = join(scratch, 'disks', 'failover.avhdx');
    await createDisk(base, { type: 'dynamic', virtualSize: 4 << 20, blockSize: 1 << 20 });
    const written = await openDisk(base, { writable: true });
    await written.write(0, Buffer.alloc(65536, 0x5a));
    await written.close();
    await createDisk(layer, { type: 'differencing', parentPath: base });
    const id = '3d2c4a5e-1b7f-4c3d-9e8a-6f5b4c3d2e1a';
    fake.addVm({ id, name: 'failed-over', state: 3, disks: [{ path: layer, virtualSize: 4 << 20 }] });
    const host = new HyperVHost({ stateDir: join(scratch, 'state'), fakes: { wmi: fake, clock: new FakeClock() } });
    const diskId = (await host.getVm(id)).disks[0]!.id;
    const after = await host.rebaseVmDisks(id, [{ diskId, path: base }], join(scratch, 'disks'));
    rmSync(base);
    const current = after.disks[0]!.currentPath;
    const disk = await openDisk(current);
    try {
      return { current, folder: join(scratch, 'disks'), layerLeft: existsSync(layer), head: (await disk.read(0, 65536)).every((b) => b === 0x5a), parent: disk.info.parentPath ?? null };
    } finally {
      await disk.close();
    }
  });
} catch (error) {
  outcome.failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
writeFileSync(process.argv[2] ?? 'wine-hyperv.json', JSON.stringify(outcome));
