/**
 * The file host's rules apart from the workload: validation, refusals in the wrong state, replica and
 * test VMs, failover network settings, damaged vm.json, a lock left by a dead process, and the hash
 * tracker on a frozen image agreeing with the checkpoint tracker.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createHostAdapter } from '../../src/host/factory.js';
import { FileHost } from '../../src/host/file/file-host.js';
import { LOCK_FILE, withVmLock } from '../../src/host/file/vm-lock.js';
import { HashTracker } from '../../src/tracking/hash/hash-tracker.js';
import { collectChanges } from '../../src/tracking/change-tracker.js';
import { createDisk } from '../../src/vhdx/index.js';
import { readVhdx, writeVhdx } from './contract.js';
import { tempDir } from '../helpers/paths.js';

const MiB = 1024 * 1024;
const code = (expected: string) => (error: unknown): boolean => (error as { code?: string }).code === expected;

describe('file host', () => {
  const dir = tempDir('file-host');
  const host = new FileHost({ root: join(dir.path, 'vms') });
  after(() => dir.cleanup());

  it('is what the factory gives for kind "file"', async () => {
    const adapter = createHostAdapter({ kind: 'file', stateDir: dir.path });
    assert.ok(adapter instanceof FileHost);
    assert.equal((adapter as FileHost).root, join(dir.path, 'vms'));
  });

  it('validates names and sizes, and refuses duplicates', async () => {
    await assert.rejects(host.createVm({ name: 'a/b', disks: [MiB] }), code('ERR_INVALID_ARGUMENT'));
    await assert.rejects(host.createVm({ name: 'ok', disks: [] }), code('ERR_INVALID_ARGUMENT'));
    await assert.rejects(host.createVm({ name: 'ok', disks: [1000] }), code('ERR_INVALID_ARGUMENT'));
    await host.createVm({ name: 'app01', disks: [16 * MiB], blockSize: MiB });
    await assert.rejects(host.createVm({ name: 'app01', disks: [16 * MiB] }), code('ERR_ALREADY_EXISTS'));
    await assert.rejects(host.getVm('nope'), code('ERR_NOT_FOUND'));
  });

  it('takes Hyper-V\'s test VM names with single inner spaces, and no name a folder could not carry', async () => {
    for (const name of ['two  spaces', ' lead', 'trail ', 'dot.', 'tab\tname', `${'x'.repeat(60)} - Test`]) {
      await assert.rejects(host.createVm({ name, disks: [MiB] }), code('ERR_INVALID_ARGUMENT'), name);
    }
    const vm = await host.createVm({ name: 'web 01 - Test', disks: [MiB], blockSize: MiB });
    assert.equal((await host.getVm('web 01 - Test')).id, vm.id);
    assert.equal(vm.disks[0]!.basePath, join(dir.path, 'vms', 'web 01 - Test', 'disk0.vhdx'));
    await host.removeVm('web 01 - Test');
  });

  it('refuses application-consistent points and discards of anything but the newest frozen point', async () => {
    await assert.rejects(host.createReferencePoint('app01', { consistency: 'application' }), code('ERR_NOT_SUPPORTED'));
    const first = await host.createReferencePoint('app01');
    const second = await host.createReferencePoint('app01');
    await assert.rejects(host.discardReferencePoint('app01', first.id), code('ERR_INVALID_STATE'));
    await assert.rejects(host.discardReferencePoint('app01', 'no-such-point'), code('ERR_NOT_FOUND'));
    await assert.rejects(host.openDiskAt('app01', first.id, 'disk9'), code('ERR_NOT_FOUND'));
    await host.discardReferencePoint('app01', second.id);
    await host.discardReferencePoint('app01', first.id);
    const vm = await host.getVm('app01');
    assert.deepEqual(vm.referencePoints, []);
    assert.equal(vm.disks[0]!.currentPath, vm.disks[0]!.basePath, 'discarding every point leaves the base current');
  });

  it('hash-tracks a frozen image consistently with the checkpoint tracker', async () => {
    await host.startVm('app01');
    const p1 = await host.createReferencePoint('app01');
    await host.withWritableDisks('app01', async ([disk]) => {
      await disk!.disk.write(3 * MiB + 512, Buffer.alloc(4096, 7));
      await disk!.disk.write(9 * MiB, Buffer.alloc(MiB, 9));
    });
    const p2 = await host.createReferencePoint('app01');
    const stateDir = join(dir.path, 'manifests');
    const images = [await host.openDiskAt('app01', p1.id, 'disk0'), await host.openDiskAt('app01', p2.id, 'disk0')];
    const [older, newer] = images.map((image) => new HashTracker({ image, stateDir, blockSize: 64 * 1024, parallelism: 2, ownsImage: true }));
    const since = await older!.enable();
    const hashed = await collectChanges(newer!.changesSince(since));
    assert.deepEqual(hashed.map((e) => [e.offset, e.length]), [[3 * MiB, 64 * 1024], [9 * MiB, MiB]]);
    const checkpoint = await collectChanges((await host.changeTracker('app01', p2.id, 'disk0')).changesSince(p1.id));
    assert.deepEqual(checkpoint.map((e) => [e.offset, e.length]), [[3 * MiB + 512, 4096], [9 * MiB, MiB]]);
    await older!.close();
    await newer!.close();
    await host.stopVm('app01');
    await assert.rejects(host.withWritableDisks('app01', async () => undefined), code('ERR_INVALID_STATE'));
  });

  it('registers replica VMs, builds test VMs over their disks without writing them, and removes only test VMs', async () => {
    const source = await host.getVm('app01');
    const location = join(dir.path, 'replicas', 'app01');
    const replica = await host.registerReplicaVm(source.configuration, [{ diskId: 'disk0', path: source.disks[0]!.basePath }], { location, name: 'app01-replica' });
    assert.equal(replica.isReplica, true);
    assert.ok((await host.listVms()).some((v) => v.name === 'app01-replica'), 'a VM registered elsewhere is listed');
    await assert.rejects(host.registerReplicaVm(source.configuration, [], { location: join(dir.path, 'r2') }), code('ERR_INVALID_ARGUMENT'));
    const before = readFileSync(source.disks[0]!.basePath);
    const test = await host.createTestVm(source.configuration, [{ diskId: 'disk0', path: source.disks[0]!.basePath }]);
    assert.equal(test.isTestVm, true);
    await host.startVm(test.id);
    await host.withWritableDisks(test.id, async ([disk]) => disk!.disk.write(0, Buffer.alloc(4096, 1)));
    assert.ok(readFileSync(source.disks[0]!.basePath).equals(before), 'the disk under the test VM is untouched');
    await assert.rejects(host.removeTestVm('app01-replica'), code('ERR_INVALID_STATE'));
    await host.removeTestVm(test.id);
    await assert.rejects(host.getVm(test.id), code('ERR_NOT_FOUND'));
  });

  it('sets failover network settings on known adapters only', async () => {
    await host.setFailoverNetwork('app01', [{ adapterId: 'nic0', testSwitchName: 'Test', ipv4Address: '10.0.0.5' }]);
    const adapter = (await host.getVm('app01')).configuration.networkAdapters[0]!;
    assert.deepEqual(adapter.failover, { adapterId: 'nic0', testSwitchName: 'Test', ipv4Address: '10.0.0.5' });
    await assert.rejects(host.setFailoverNetwork('app01', [{ adapterId: 'nic7' }]), code('ERR_NOT_FOUND'));
  });

  it('refuses a damaged vm.json naming what is wrong', async () => {
    await host.createVm({ name: 'broken', disks: [4 * MiB] });
    const path = join(await host.folderOf('broken'), 'vm.json');
    const record = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    writeFileSync(path, JSON.stringify({ ...record, state: 'exploded' }));
    await assert.rejects(host.startVm('broken').then(() => host.getVm('broken')), (e: unknown) => code('ERR_VM_CONFIG_INVALID')(e) && /"state"/.test((e as Error).message));
  });

  it('takes over a lock left by a process that died', async () => {
    const folder = await host.folderOf('app01');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(folder, LOCK_FILE), JSON.stringify({ pid: Number(dead.stdout), purpose: 'write' }));
    assert.equal(await withVmLock(folder, 'test', async () => 'acquired'), 'acquired');
  });

  it('retires merged layers at the commit and deletes them, and a crash\'s leftovers, when the next commit or discard begins, never while a cycle runs', async () => {
    await host.createVm({ name: 'retire01', disks: [4 * MiB], blockSize: MiB });
    await host.startVm('retire01');
    const folder = await host.folderOf('retire01');
    const retired = join(folder, '.retired');
    const layerFiles = () => readdirSync(folder).filter((f) => f.endsWith('.avhdx')).sort();
    // The first point freezes the base itself; the second freezes the layer the first one added.
    await host.commitReferencePoint('retire01', (await host.createReferencePoint('retire01')).id);
    await host.withWritableDisks('retire01', async ([disk]) => disk!.disk.write(0, Buffer.alloc(MiB, 7)));
    const first = await host.createReferencePoint('retire01');
    const [frozen, live] = [first.disks[0]!.frozenPath, (await host.getVm('retire01')).disks[0]!.currentPath];
    assert.notEqual(frozen, (await host.getVm('retire01')).disks[0]!.basePath);
    await host.commitReferencePoint('retire01', first.id);
    await host.retiredDeleted();
    assert.deepEqual(layerFiles(), [live.slice(folder.length + 1)], 'only the live layer is left beside the base');
    assert.equal(existsSync(frozen), false);
    const firstRetired = readdirSync(retired);
    assert.equal(firstRetired.length, 1, 'the commit retired the merged layer and leaves it for the next commit');
    // A crash between the retirement and the deletion leaves a file here: nothing names it.
    writeFileSync(join(retired, 'disk0_left-by-a-crash.avhdx'), 'x');
    // Taking the next point (a cycle begins) deletes nothing: the cycle's reads and upload have the disk to themselves.
    const second = await host.createReferencePoint('retire01');
    await host.retiredDeleted();
    assert.deepEqual(readdirSync(retired).sort(), [...firstRetired, 'disk0_left-by-a-crash.avhdx'].sort(), 'nothing deleted while the cycle runs');
    // The data is whole: the committed base plus the layers above show the write.
    const image = await host.openDiskAt('retire01', second.id, 'disk0');
    try {
      assert.deepEqual(await image.read(0, 4096), Buffer.alloc(4096, 7));
    } finally {
      await image.close();
    }
    // The cycle's end (here a discard; a commit alike) deletes what earlier commits retired and the leftover.
    await host.discardReferencePoint('retire01', second.id);
    await host.retiredDeleted();
    const afterDiscard = readdirSync(retired);
    assert.ok(!afterDiscard.includes(firstRetired[0]!) && !afterDiscard.includes('disk0_left-by-a-crash.avhdx'), 'the discard deleted the earlier retired layer and the leftover');
    assert.ok(afterDiscard.length <= 1, 'at most the layer this discard merged is left');
    const third = await host.createReferencePoint('retire01');
    await host.commitReferencePoint('retire01', third.id);
    await host.retiredDeleted();
    assert.ok(afterDiscard.every((f) => !readdirSync(retired).includes(f)), 'the next commit deleted what the discard retired');
    await host.stopVm('retire01');
    // Unregistering keeps the disks, so the folder stays, but the retired layers (no disk's) go.
    await host.unregisterVm('retire01');
    assert.equal(existsSync(retired), false);
    assert.ok(existsSync(join(folder, 'disk0.vhdx')));
  });

  it('re-bases a VM that replicates (a committed reference point\'s layer above its own): refused with a frozen point, then everything it wrote carried, the point forgotten', async () => {
    const chain = join(dir.path, 'rebase-chain');
    mkdirSync(chain, { recursive: true });
    const base = join(chain, 'point.vhdx');
    // app01's one disk: 16 MiB.
    await createDisk(base, { type: 'dynamic', virtualSize: 16 * MiB, blockSize: MiB });
    await writeVhdx(base, 0, Buffer.alloc(MiB, 1));
    const own = join(dir.path, 'rebase-own.avhdx');
    await createDisk(own, { type: 'differencing', parentPath: base });
    const source = await host.getVm('app01');
    const vm = await host.registerReplicaVm({ ...source.configuration, name: 'rebase01' }, [{ diskId: 'disk0', path: own }], { location: join(dir.path, 'rebase01'), name: 'rebase01' });
    await host.startVm(vm.id);
    const write = (at: number, byte: number) => host.withWritableDisks(vm.id, async ([disk]) => disk!.disk.write(at, Buffer.alloc(64 * 1024, byte)));
    await write(MiB, 2);
    // As a reverse leaves it: a reference point committed, the VM writing into the layer above.
    await host.commitReferencePoint(vm.id, (await host.createReferencePoint(vm.id)).id);
    await write(2 * MiB, 3);
    await write(0, 4);
    const frozen = await host.createReferencePoint(vm.id);
    const folder = join(dir.path, 'rebase-disks');
    await assert.rejects(host.rebaseVmDisks(vm.id, [{ diskId: 'disk0', path: base }], folder), code('ERR_INVALID_STATE'));
    await host.discardReferencePoint(vm.id, frozen.id);
    const layers = (await host.getVm(vm.id)).referencePoints.length;
    assert.equal(layers, 1, 'the committed point stays until the re-base');

    const after = await host.rebaseVmDisks(vm.id, [{ diskId: 'disk0', path: base }], folder);
    assert.deepEqual(after.referencePoints, [], 'the committed point tracked the old files: forgotten');
    rmSync(chain, { recursive: true, force: true });
    rmSync(own, { force: true });
    const current = after.disks[0]!.currentPath;
    assert.ok(current.startsWith(folder), current);
    assert.deepEqual(readdirSync(await host.folderOf(vm.id)).filter((f) => f.endsWith('.avhdx')), [], 'the old layers are deleted');
    assert.ok((await readVhdx(current, 0, 64 * 1024)).equals(Buffer.alloc(64 * 1024, 4)), 'the last write over the chain');
    assert.ok((await readVhdx(current, 64 * 1024, 64 * 1024)).equals(Buffer.alloc(64 * 1024, 1)), 'what the chain held');
    assert.ok((await readVhdx(current, MiB, 64 * 1024)).equals(Buffer.alloc(64 * 1024, 2)), 'a write below the committed point');
    assert.ok((await readVhdx(current, 2 * MiB, 64 * 1024)).equals(Buffer.alloc(64 * 1024, 3)), 'a write above it');
    await host.stopVm(vm.id);
  });

  it('unregisters a VM whose folder held only retired layers and its disks elsewhere, removing the folder', async () => {
    await host.createVm({ name: 'retire02', disks: [4 * MiB], blockSize: MiB });
    const folder = await host.folderOf('retire02');
    mkdirSync(join(folder, '.retired'), { recursive: true });
    const vm = await host.getVm('retire02');
    const elsewhere = join(dir.path, 'elsewhere.vhdx');
    writeFileSync(elsewhere, readFileSync(vm.disks[0]!.basePath));
    await host.replaceVmDisks('retire02', [{ diskId: 'disk0', path: elsewhere }]);
    rmSync(vm.disks[0]!.basePath);
    await host.unregisterVm('retire02');
    assert.equal(existsSync(folder), false);
  });
});
