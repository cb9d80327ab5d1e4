/**
 * The failover library on a Hyper-V replica, through the Hyper-V adapter over the WMI fake: the replica
 * server's record keeps the configuration the primary shipped; a test failover realises "<name> - Test"
 * from it, disconnected, on layers over the recovery point and removes it again; a failover registers the
 * VM on the point's chain, a cancel unregisters it and leaves the chain as it was, a completion moves the
 * VM's disks off the recovery points (VM off) before they are deleted; a completion while the VM runs
 * keeps exactly the chain it runs on (the fake holds those files as Hyper-V does) and the next completion
 * with the VM off moves it and deletes the chain. No file host takes part.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { replicaDisksOf } from '../../src/engine/replicator.js';
import { LocalSink } from '../../src/engine/log-sink.js';
import { seedStorage, syncByHash } from '../../src/failover/disk-sync.js';
import { completeFailover, startFailover, stopFailover } from '../../src/failover/failover.js';
import { pointFiles } from '../../src/failover/recovery-points.js';
import { uploadsInFlight, withUploadMark } from '../../src/replica/upload-marks.js';
import { FailoverSite } from '../../src/failover/site.js';
import { finishHeldChainBeforeRemoval, finishHeldChainIfOff } from '../../src/failover/held-chain.js';
import { setAsReplica } from '../../src/failover/reverse.js';
import { startTestFailover, stopTestFailover } from '../../src/failover/test-failover.js';
import { diskLogId } from '../../src/engine/ids.js';
import { toWire } from '../../src/host/hyperv/exported-definition.js';
import type { VmDescription } from '../../src/host/host-adapter.js';
import { HyperVHost } from '../../src/host/hyperv/hyperv-host.js';
import { VhdxImage } from '../../src/host/vhdx-image.js';
import { parseReplicaVmDefinition } from '../../src/protocol/replica-vm.js';
import { ReplicaRecords } from '../../src/replica/replica-records.js';
import { createVhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { createDisk, openDisk } from '../../src/vhdx/index.js';
import { tempDir } from '../helpers/paths.js';
import { FakeClock, FakeHyperV } from './fake-hyperv.js';

const MiB = 1024 * 1024;
const VM = '0d2c4a5e-1b7f-4c3d-9e8a-6f5b4c3d2e1a';
const dirs: Array<{ cleanup(): void }> = [];
after(() => dirs.forEach((d) => d.cleanup()));

function pattern(seed: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 13 + seed) & 0xff;
  return b;
}

async function sha256Of(path: string): Promise<string> {
  const disk = await openDisk(path);
  try {
    return createHash('sha256').update(await disk.read(0, disk.info.virtualSize)).digest('hex');
  } finally {
    await disk.close();
  }
}

/**
 * A replica host (state directory + Hyper-V adapter on the fake) holding web01 as the replica server
 * leaves it: the record the primary's definition made, and storage with one applied cycle. With
 * `primaryHere` the primary VM stays on the same (fake) host, as with replication to localhost.
 */
async function replicaHost(primaryHere = false) {
  const dir = tempDir('hyperv-failover');
  dirs.push(dir);
  const hv = new FakeHyperV();
  const clock = new FakeClock();
  hv.addVm({
    id: VM,
    name: 'web01',
    state: 3,
    disks: [{ path: 'D:\\web01\\os.vhdx', virtualSize: 4 * MiB }, { path: 'D:\\web01\\data.vhdx', slot: 1, virtualSize: 2 * MiB }],
    nics: [{ name: 'LAN', mac: '00155D010203', switchName: 'External' }],
  });
  const primary = new HyperVHost({ stateDir: join(dir.path, 'primary'), fakes: { wmi: hv, clock }, timeouts: { pollIntervalMs: 10 } });
  const source = await primary.getVm(VM);
  const exported = await primary.exportDefinition(VM);
  if (!primaryHere) hv.removeVm(VM);

  const stateDir = join(dir.path, 'replica');
  const host = new HyperVHost({ stateDir, fakes: { wmi: hv, clock }, timeouts: { pollIntervalMs: 10 } });
  const site = new FailoverSite({ name: 'replica.test', stateDir, host });
  // The definition as the primary sends it (agent/replicate-vm.ts) and the replica server parses it.
  const spec = replicaDisksOf(source);
  const definition = parseReplicaVmDefinition(
    JSON.parse(
      JSON.stringify({
        FormatVersion: 1,
        VMId: VM,
        VMName: 'web01',
        Disks: spec.disks.map((d) => ({ DiskId: d.diskId, VirtualSize: d.virtualSize, LogicalSectorSize: d.logicalSectorSize })),
        RecoveryHistory: 2,
        VSSSnapshotFrequencyHour: 0,
        ReplicationFrequencySec: 300,
        Configuration: source.configuration,
        HostConfiguration: toWire(exported),
      }),
    ),
  );
  const records = new ReplicaRecords({ stateDir, serverName: 'replica.test' });
  await records.define(definition, 'primary.test');

  // The content the cycle carries: one real VHDX per disk with a pattern of its own.
  const content: Record<string, string> = {};
  const seedFiles: Record<string, string> = {};
  for (const [i, disk] of source.disks.entries()) {
    const file = join(dir.path, `seed-${i}.vhdx`);
    await createDisk(file, { type: 'dynamic', virtualSize: disk.virtualSize, blockSize: MiB });
    const writable = await openDisk(file, { writable: true });
    await writable.write(0, pattern(i + 1, MiB));
    await writable.close();
    seedFiles[disk.id] = file;
    content[disk.id] = await sha256Of(file);
  }
  const storage = await createVhdxReplicaStorage(site.storageRoot(VM), { ...spec, blockSize: MiB, settings: { recoveryHistory: 2 } });
  await seedStorage(storage, source.configuration, (diskId) => VhdxImage.open(seedFiles[diskId]!), 'seed-1');
  await records.applied(VM, [{ generation: 1, sequence: 0, consistency: 'crash' }]);
  return { hv, host, site, stateDir, source, exported, content, dir: dir.path };
}

const hostResources = (hv: FakeHyperV, id: string) => hv.vmDisks(id).map((d) => (d.properties.HostResource as string[])[0]!);

test('the replica record keeps the configuration the primary shipped', async () => {
  const { site, exported } = await replicaHost();
  const record = await site.store.require(VM);
  assert.equal(record.state, 'Replicating');
  assert.deepEqual(record.configuration.exportedDefinition, exported);
});

test('test failover: "<name> - Test" realised from the shipped configuration, disconnected, on layers over the point; stop removes it', async () => {
  const { hv, site, stateDir } = await replicaHost();
  assert.ok(site.host instanceof HyperVHost);
  const { vm, point, record } = await startTestFailover(site, VM);
  assert.equal(vm.name, 'web01 - Test');
  assert.equal(vm.isTestVm, true);
  assert.notEqual(vm.id.toLowerCase(), VM);
  assert.equal(record.testFailover?.vmName, 'web01 - Test');
  assert.ok(hv.importedFiles.at(-1)!.startsWith(site.testVmFolder(VM)), 'imported from the shipped .vmcx, written into the test folder');
  const described = await site.host.getVm(vm.id);
  assert.deepEqual(described.configuration.networkAdapters.map((n) => n.switchName), [undefined], 'the test VM is disconnected');
  const storage = await site.openStorage(VM);
  const parents = hv.calls.filter((c) => c.method === 'CreateVirtualHardDisk').map((c) => String(hv.embedded.get(String(c.params.VirtualDiskSettingData))!.properties.ParentPath));
  assert.equal(parents.length, 2);
  for (const parent of parents) assert.ok(parent.startsWith(site.storageRoot(VM)) && existsSync(parent), `${parent} is a file of recovery point ${point.id}`);
  assert.deepEqual((await storage.listRecoveryPoints()).map((p) => p.id), [point.id]);

  const stopped = await stopTestFailover(site, VM);
  assert.equal(stopped.testFailover, undefined);
  assert.equal(hv.objects.has(hv.vmPath(vm.id)), false, 'the test VM is gone from Hyper-V');
  assert.ok(!existsSync(site.testVmFolder(VM)));
  assert.ok(!existsSync(join(stateDir, 'vms')), 'no file host was used');
});

test('failover registers the VM on the point\'s chain; cancel unregisters it and leaves the chain; complete moves the VM off the recovery points', async () => {
  const { hv, site, stateDir, content, source } = await replicaHost();
  const first = await startFailover(site, VM);
  assert.equal(first.vm.id.toLowerCase(), VM, 'a replica keeps its primary\'s id');
  assert.equal(first.vm.isReplica, true);
  assert.equal(first.record.state, 'FailedOverWaitingCompletion');
  assert.ok(hv.importedFiles.at(-1)!.startsWith(site.failedOverVmFolder(VM)), 'realised from the shipped configuration');
  const layers = Object.values(first.record.failover!.layers);
  assert.deepEqual(hostResources(hv, VM), source.disks.map((d) => first.record.failover!.layers[d.id]), 'the VM runs on its own layers over the point');
  for (const layer of layers) {
    const disk = await openDisk(layer);
    assert.ok(disk.info.parentPath?.startsWith(site.storageRoot(VM)), `${layer} sits on the recovery point`);
    await disk.close();
  }
  const chain = async () => Promise.all(Object.values(await pointFiles(await site.openStorage(VM), source.configuration, first.point.id)).map(sha256Of));
  const chainBefore = await chain();

  const cancelled = await stopFailover(site, VM);
  assert.equal(cancelled.outcome, 'failover-cancelled');
  assert.equal(cancelled.record.state, 'Replicating');
  assert.equal(hv.calls.filter((c) => c.method === 'DestroySystem').length, 1, 'Remove-VM');
  assert.equal(hv.objects.has(hv.vmPath(VM)), false);
  assert.ok(layers.every((l) => !existsSync(l)), 'its layers are deleted');
  const storage = await site.openStorage(VM);
  assert.deepEqual((await storage.listRecoveryPoints()).map((p) => p.id), [first.point.id], 'the recovery points are as before');
  assert.deepEqual(await chain(), chainBefore, 'the chain was never written');

  const second = await startFailover(site, VM, { point: first.point.id });
  // Off (never started, or stopped before completing): the disks move at once.
  const done = await completeFailover(site, VM);
  assert.equal(done.state, 'FailedOver');
  assert.ok(!existsSync(site.storageRoot(VM)), 'the recovery points are deleted');
  const disks = hostResources(hv, VM);
  assert.ok(disks.every((p) => p.startsWith(site.failedOverDiskFolder(VM)) && existsSync(p)), disks.join(', '));
  assert.ok(Object.values(second.record.failover!.layers).every((l) => !existsSync(l)), 'the failover layers were folded into the new disks');
  assert.deepEqual(await Promise.all(disks.map(sha256Of)), source.disks.map((d) => content[d.id]), 'the VM reads what the recovery point held');
  assert.ok(!existsSync(join(stateDir, 'vms')), 'no file host was used');
});

/** A second recovery point above the first, with other content (the cycle a primary sends next). */
async function secondPoint(site: FailoverSite, source: VmDescription, dir: string): Promise<void> {
  const storage = await site.openStorage(VM);
  await storage.seal();
  const images: Record<string, string> = {};
  for (const [i, disk] of source.disks.entries()) {
    images[disk.id] = join(dir, `next-${i}.vhdx`);
    await createDisk(images[disk.id]!, { type: 'dynamic', virtualSize: disk.virtualSize, blockSize: MiB });
    const writable = await openDisk(images[disk.id]!, { writable: true });
    await writable.write(MiB, pattern(i + 7, MiB));
    await writable.close();
  }
  await syncByHash({
    config: source.configuration,
    source: (diskId) => VhdxImage.open(images[diskId]!),
    target: storage,
    sink: new LocalSink(storage),
    position: { generation: 1, sequence: 1, baseReferencePoint: 'seed-1', newReferencePoint: 'seed-2' },
    blockSize: MiB,
  });
  await storage.seal();
}

/** Every file under `dir`, sorted. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

test('complete while the failed-over VM runs: FailedOver at once, only its chain kept and untouched; completed with the VM off, that chain goes', async () => {
  const { hv, site, source, content, dir } = await replicaHost();
  await secondPoint(site, source, dir);
  const points = await (await site.openStorage(VM)).listRecoveryPoints();
  assert.equal(points.length, 2);
  // The older point: the newer one sits above it and is no file of the chain the VM will run on.
  const { record: started } = await startFailover(site, VM, { point: points[0]!.id });
  const chainTops = await pointFiles(await site.openStorage(VM), source.configuration, points[0]!.id);
  await site.host.startVm(VM);
  // The guest writes into its own layer while it runs.
  const written = source.disks[0]!.id;
  const guest = await openDisk(started.failover!.layers[written]!, { writable: true });
  await guest.write(3 * MiB, pattern(9, 64 * 1024));
  await guest.close();
  const reads = async () => Promise.all(hostResources(hv, VM).map(sha256Of));
  const before = await reads();
  const held = await hv.heldFiles();
  assert.equal(held.length, 4, 'per disk: the VM\'s layer and the point\'s chain (the first point is the base disk)');
  const repointed = () => hv.calls.filter((c) => c.method === 'ModifyResourceSettings').length;
  const repointedBefore = repointed();

  const done = await completeFailover(site, VM);
  assert.equal(done.state, 'FailedOver');
  assert.equal(done.failover, undefined);
  await hv.assertHeldUntouched(held);
  assert.equal(repointed(), repointedBefore, 'no drive of the running VM was re-pointed');
  assert.deepEqual(await reads(), before, 'the VM reads what it read');
  const storagePath = await site.storagePath(VM);
  const kept = held.filter((f) => f.sha256 !== undefined).map((f) => f.path).sort();
  assert.deepEqual(filesUnder(storagePath), kept, 'only the files of the chain the VM runs on are left of the recovery points');
  assert.deepEqual(done.heldChain?.files.slice().sort(), kept);
  assert.deepEqual(done.heldChain?.bases, chainTops);
  await assert.rejects(site.openStorage(VM), 'no replica storage is left to list points of or apply logs to');

  // Again while it runs: refused with what to do, nothing touched.
  await assert.rejects(completeFailover(site, VM), (e: any) => e.code === 'ERR_INVALID_STATE' && /Stop-VM/.test(e.message) && /failover complete/.test(e.message));
  await hv.assertHeldUntouched(held);
  assert.ok((await site.store.require(VM)).heldChain, 'still pending');

  await site.host.stopVm(VM, { force: true });
  const finished = await completeFailover(site, VM);
  assert.equal(finished.state, 'FailedOver');
  assert.equal(finished.heldChain, undefined);
  assert.ok(!existsSync(storagePath), 'the held chain and its folder are deleted');
  const disks = hostResources(hv, VM);
  assert.ok(disks.every((p) => p.startsWith(site.failedOverDiskFolder(VM)) && existsSync(p)), disks.join(', '));
  assert.ok(Object.values(started.failover!.layers).every((l) => !existsSync(l)), 'the failover layers were folded into the new disks');
  assert.deepEqual(await Promise.all(disks.map(sha256Of)), before, 'the VM reads what it read, its own writes included');
  assert.notDeepEqual(before[0], content[written], 'the guest\'s write is part of it');
  await assert.rejects(completeFailover(site, VM), (e: any) => e.code === 'ERR_INVALID_STATE', 'nothing is left to complete');
});

test('a failover completed while the VM ran is finished by --as-replica later (VM off): the VM leaves the chain before its folder is re-created', async () => {
  const { hv, site, source } = await replicaHost();
  await startFailover(site, VM);
  await site.host.startVm(VM);
  const held = await completeFailover(site, VM);
  assert.ok(held.heldChain);
  const reads = await Promise.all(hostResources(hv, VM).map(sha256Of));
  // Running, a reverse goes on without the chain (src/failover/held-chain.ts): nothing finishes it then.
  assert.equal((await finishHeldChainIfOff(site, held)).heldChain, held.heldChain);
  // The reversed relationship, as `replication set --reverse` leaves it on this host.
  await site.store.modify(VM, (r) => ({ ...r, mode: 'Primary' as const, state: 'Replicating' as const }));
  await site.host.stopVm(VM, { force: true });
  const replica = await setAsReplica(site, VM);
  assert.equal(replica.mode, 'Replica');
  assert.equal(replica.heldChain, undefined);
  assert.equal(hv.objects.has(hv.vmPath(VM)), false, 'the old VM is unregistered');
  const storage = await site.openStorage(VM);
  const now = await Promise.all(source.disks.map(async (d) => {
    const chain = await storage.openLatest(diskLogId(VM, d.id));
    try {
      return createHash('sha256').update(await chain.read(0, chain.info.virtualSize)).digest('hex');
    } finally {
      await chain.close();
    }
  }));
  assert.deepEqual(now, reads, 'the new replica storage holds what the VM read');
  assert.ok(!existsSync(join(site.failedOverDiskFolder(VM), '..')), 'the failed-over VM\'s own disks went with it');
});

test('a command that finds the VM off finishes a held chain on its way (as --reverse does); running, it leaves it', async () => {
  const { hv, site } = await replicaHost();
  await startFailover(site, VM);
  await site.host.startVm(VM);
  const held = await completeFailover(site, VM);
  const storagePath = held.heldChain!.storagePath;
  assert.equal(await finishHeldChainIfOff(site, held), held, 'running: nothing to do yet');
  assert.ok(existsSync(storagePath));
  const reads = await Promise.all(hostResources(hv, VM).map(sha256Of));
  await site.host.stopVm(VM, { force: true });
  const finished = await finishHeldChainIfOff(site, held);
  assert.equal(finished.heldChain, undefined);
  assert.equal(finished.state, 'FailedOver');
  assert.ok(!existsSync(storagePath));
  assert.deepEqual(await Promise.all(hostResources(hv, VM).map(sha256Of)), reads, 'the VM reads what it read');
});

test('Remove-VMReplication of a VM whose completed failover holds a chain: refused while it runs (nothing touched), the chain finished first once it is off', async () => {
  const { hv, site } = await replicaHost();
  await startFailover(site, VM);
  await site.host.startVm(VM);
  const done = await completeFailover(site, VM);
  const storagePath = done.heldChain!.storagePath;
  const held = await hv.heldFiles();
  const reads = await Promise.all(hostResources(hv, VM).map(sha256Of));

  await assert.rejects(finishHeldChainBeforeRemoval(site, done), (e: any) =>
    e.code === 'ERR_INVALID_STATE' && /cannot be removed yet/.test(e.message) && /Stop-VM/.test(e.message) && /replication remove --vm-name web01/.test(e.message) && e.message.includes(storagePath));
  await hv.assertHeldUntouched(held);
  assert.deepEqual((await site.store.require(VM)).heldChain, done.heldChain, 'the record still names the files');

  await site.host.stopVm(VM, { force: true });
  const finished = await finishHeldChainBeforeRemoval(site, await site.store.require(VM));
  assert.equal(finished.heldChain, undefined);
  assert.ok(!existsSync(storagePath), 'the held chain and its folder are deleted before the record goes');
  const disks = hostResources(hv, VM);
  assert.ok(disks.every((p) => p.startsWith(site.failedOverDiskFolder(VM)) && existsSync(p)), disks.join(', '));
  assert.deepEqual(await Promise.all(disks.map(sha256Of)), reads, 'the VM reads what it read');
});

test('replication to the same host: the failed-over VM gets its own id, and a cancel leaves the primary alone', async () => {
  const { hv, site } = await replicaHost(true);
  const { vm, record } = await startFailover(site, VM);
  assert.notEqual(vm.id.toLowerCase(), VM);
  assert.equal(record.hostVmId, vm.id);
  const { outcome, record: cancelled } = await stopFailover(site, VM);
  assert.equal(outcome, 'failover-cancelled');
  assert.equal(cancelled.hostVmId, undefined);
  assert.equal(hv.objects.has(hv.vmPath(vm.id)), false, 'the replica VM is removed');
  assert.equal(hv.objects.has(hv.vmPath(VM)), true, 'the primary VM is untouched');
  assert.equal(JSON.parse(readFileSync(join(site.store.dir, `${VM}.json`), 'utf8')).state, 'Replicating');
});

test('the second half of a held chain waits for uploads into its folder too: past the wait nothing changes, once they end it finishes', async () => {
  const { site } = await replicaHost();
  await startFailover(site, VM);
  await site.host.startVm(VM);
  const held = await completeFailover(site, VM);
  const storagePath = held.heldChain!.storagePath;
  await site.host.stopVm(VM, { force: true });

  let endUpload!: () => void;
  const uploadEnds = new Promise<void>((resolve) => (endUpload = resolve));
  // An upload of the replica server that began before the failover and still holds its mark in the folder.
  const upload = withUploadMark(storagePath, 'disk d1 cycle 1/7', () => uploadEnds);
  try {
    while ((await uploadsInFlight(storagePath)).length === 0) await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(completeFailover(site, VM, { uploadWaitMs: 200 }), (e: any) =>
      e.code === 'ERR_BUSY' && /still receiving an upload of VM 'web01'.*disk d1 cycle 1\/7/.test(e.message) && e.message.includes(`recovery point ${held.heldChain!.pointId}'s chain`));
    assert.deepEqual((await site.store.require(VM)).heldChain, held.heldChain, 'the record still names the chain');
    assert.ok(existsSync(storagePath), 'nothing of the held chain went under the upload');
  } finally {
    endUpload();
    await upload;
  }
  const finished = await completeFailover(site, VM, { uploadWaitMs: 200 });
  assert.equal(finished.heldChain, undefined);
  assert.ok(!existsSync(storagePath));
});
