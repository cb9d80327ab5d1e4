/**
 * The HostAdapter contract: every host adapter runs this suite (style principle 7) — the file host over
 * real VHDX files, the Hyper-V adapter over the WMI fake that follows Microsoft's documented behaviour.
 * It pins what the failover library relies on from any host: inventory by name and id, unregistering a
 * VM without touching its disk files, pointing a VM's drives at other files, and the exported definition.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe } from 'node:test';
import type { HostAdapter } from '../../src/host/host-adapter.js';
import { createDisk, openDisk } from '../../src/vhdx/index.js';
import { fixtureTest } from '../helpers/fixture.js';

function pattern(seed: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

/** Writes `data` at `offset` of a VHDX file (opened and closed for the one write). */
export async function writeVhdx(path: string, offset: number, data: Buffer): Promise<void> {
  const disk = await openDisk(path, { writable: true });
  try {
    await disk.write(offset, data);
  } finally {
    await disk.close();
  }
}

/** Reads `length` bytes at `offset` of a VHDX file (or chain) as a guest would. */
export async function readVhdx(path: string, offset: number, length: number): Promise<Buffer> {
  const disk = await openDisk(path);
  try {
    return await disk.read(offset, length);
  } finally {
    await disk.close();
  }
}

export interface HostFixture {
  host: HostAdapter;
  /** A scratch folder of the fixture's own. */
  dir: string;
  /** A VM named `name`, off, with disks of these virtual sizes and one adapter on `switchName`; its id. */
  createVm(name: string, diskSizes: number[], switchName?: string): Promise<string>;
  /** A VM named `name`, off, whose drives use these existing VHDX files (e.g. layers over a chain); its id. */
  attachVm(name: string, vhdxPaths: string[]): Promise<string>;
  /** A new disk file of this size the host can attach (a real file on disk for both hosts). */
  diskFile(size: number, sectorSize?: 512 | 4096): Promise<string>;
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;
const code = (c: string) => (error: unknown): boolean => {
  assert.equal((error as { code?: string }).code, c, (error as Error).message);
  return true;
};

export function hostAdapterContract(name: string, makeFixture: () => Promise<HostFixture>): void {
  describe(`HostAdapter contract: ${name}`, () => {
    const withFixture = fixtureTest(makeFixture);

    withFixture('finds a VM by name and by id, and refuses names that match none', async ({ host, createVm }) => {
      const id = await createVm('ct-inv', [4 * MiB]);
      assert.ok((await host.listVms()).some((v) => v.id === id && v.name === 'ct-inv'));
      const byName = await host.getVm('ct-inv');
      assert.equal(byName.id, id);
      assert.equal((await host.getVm(id)).name, 'ct-inv');
      assert.equal(byName.disks.length, 1);
      assert.equal(byName.disks[0]!.virtualSize, 4 * MiB);
      assert.deepEqual(byName.configuration.disks.map((d) => d.id), byName.disks.map((d) => d.id));
      await assert.rejects(host.getVm('ct-none'), code('ERR_NOT_FOUND'));
    });

    withFixture('exports a definition the replica can realise, or none when the configuration is all it needs', async ({ host, createVm }) => {
      const id = await createVm('ct-export', [4 * MiB]);
      const exported = await host.exportDefinition('ct-export');
      if (exported !== undefined) {
        assert.equal(exported.vmId.toLowerCase(), id.toLowerCase());
        assert.ok(exported.files.some((f) => /\.vmcx$/i.test(f.path)), 'an exported definition holds the .vmcx');
        assert.ok(exported.files.every((f) => !/\.a?vhdx$/i.test(f.path)), 'and never a disk');
      }
      await assert.rejects(host.exportDefinition('ct-none'), code('ERR_NOT_FOUND'));
    });

    withFixture('points a stopped VM\'s drives at other files of the same size and leaves the old files alone', async ({ host, createVm, diskFile }) => {
      await createVm('ct-swap', [4 * MiB, 8 * MiB]);
      const before = await host.getVm('ct-swap');
      const [first, second] = before.disks;
      const replacement = await diskFile(4 * MiB);
      const after = await host.replaceVmDisks('ct-swap', [{ diskId: first!.id, path: replacement }]);
      assert.equal(after.disks.find((d) => d.id === first!.id)!.basePath, replacement);
      assert.equal(after.disks.find((d) => d.id === second!.id)!.basePath, second!.basePath, 'a disk not named keeps its file');
      assert.equal((await host.getVm('ct-swap')).disks.find((d) => d.id === first!.id)!.currentPath, replacement);
      assert.ok(existsSync(first!.basePath), 'the file used before is left in place');
    });

    withFixture('refuses to replace disks of a running VM, with a frozen point, of another size, or not of the VM', async ({ host, createVm, diskFile }) => {
      await createVm('ct-refuse', [4 * MiB]);
      const diskId = (await host.getVm('ct-refuse')).disks[0]!.id;
      const same = await diskFile(4 * MiB);
      await host.startVm('ct-refuse');
      await assert.rejects(host.replaceVmDisks('ct-refuse', [{ diskId, path: same }]), code('ERR_INVALID_STATE'));
      await host.stopVm('ct-refuse', { force: true });
      const point = await host.createReferencePoint('ct-refuse');
      await assert.rejects(host.replaceVmDisks('ct-refuse', [{ diskId, path: same }]), code('ERR_INVALID_STATE'));
      await host.discardReferencePoint('ct-refuse', point.id);
      await assert.rejects(host.replaceVmDisks('ct-refuse', [{ diskId, path: await diskFile(8 * MiB) }]), code('ERR_INVALID_ARGUMENT'));
      await assert.rejects(host.replaceVmDisks('ct-refuse', [{ diskId: 'no-such-disk', path: same }]), code('ERR_NOT_FOUND'));
      assert.notEqual((await host.getVm('ct-refuse')).disks[0]!.basePath, same, 'nothing was replaced');
    });

    withFixture('unregisters a VM and keeps its disk files; a running VM only with force', async ({ host, createVm }) => {
      await createVm('ct-gone', [4 * MiB, 4 * MiB]);
      const vm = await host.getVm('ct-gone');
      await host.startVm('ct-gone');
      await assert.rejects(host.unregisterVm('ct-gone'), code('ERR_INVALID_STATE'));
      assert.equal((await host.getVm('ct-gone')).state, 'running', 'a refused unregister changes nothing');
      await host.unregisterVm('ct-gone', { force: true });
      await assert.rejects(host.getVm('ct-gone'), code('ERR_NOT_FOUND'));
      assert.ok(!(await host.listVms()).some((v) => v.id === vm.id));
      for (const disk of vm.disks) assert.ok(existsSync(disk.basePath), `${disk.basePath} is kept`);
      await assert.rejects(host.unregisterVm('ct-gone'), code('ERR_NOT_FOUND'));
    });

    withFixture('a replaced disk survives an unregister: the failover library\'s complete-then-remove order', async ({ host, createVm, diskFile }) => {
      await createVm('ct-both', [4 * MiB]);
      const diskId = (await host.getVm('ct-both')).disks[0]!.id;
      const replacement = await diskFile(4 * MiB);
      await host.replaceVmDisks('ct-both', [{ diskId, path: replacement }]);
      await host.unregisterVm('ct-both');
      assert.ok(existsSync(replacement));
    });

    withFixture('a test VM is "<name> - Test" on its own layers over the given disks, network disconnected; removing it keeps them', async ({ host, createVm, diskFile, dir }) => {
      await createVm('ct-src', [4 * MiB], 'LAN');
      const source = await host.getVm('ct-src');
      assert.equal(source.configuration.networkAdapters[0]?.switchName !== undefined, true, 'the source adapter is connected');
      const exported = await host.exportDefinition('ct-src');
      const configuration = { ...source.configuration, ...(exported ? { exportedDefinition: exported } : {}) };
      const replicaDisk = await diskFile(4 * MiB);
      const test = await host.createTestVm(configuration, [{ diskId: source.disks[0]!.id, path: replicaDisk }], { location: join(dir, 'test-vm') });
      assert.equal(test.name, 'ct-src - Test');
      assert.equal(test.isTestVm, true);
      assert.notEqual(test.id.toLowerCase(), source.id.toLowerCase());
      const described = await host.getVm('ct-src - Test');
      assert.equal(described.id, test.id, 'found by its name with spaces');
      assert.ok(described.configuration.networkAdapters.length > 0 && described.configuration.networkAdapters.every((n) => n.switchName === undefined), 'every adapter is disconnected');
      assert.notEqual(described.disks[0]!.currentPath, replicaDisk, 'the test VM writes into a layer of its own');
      await assert.rejects(host.removeTestVm('ct-src'), code('ERR_INVALID_STATE'));
      await host.removeTestVm(test.id);
      await assert.rejects(host.getVm(test.id), code('ERR_NOT_FOUND'));
      assert.ok(existsSync(replicaDisk), 'the disk under the test VM is kept');
    });

    withFixture('re-bases a VM off the chain below its layer: it reads the same once that chain is deleted', async ({ host, attachVm, dir }) => {
      const chain = join(dir, 'storage');
      const folder = join(dir, 'failed-over');
      await mkdir(chain, { recursive: true });
      await mkdir(folder, { recursive: true });
      const base = join(chain, 'point.vhdx');
      await createDisk(base, { type: 'dynamic', virtualSize: 4 * MiB, blockSize: MiB });
      await writeVhdx(base, 0, pattern(1, MiB));
      const layer = join(folder, 'failover.avhdx');
      await createDisk(layer, { type: 'differencing', parentPath: base });
      await writeVhdx(layer, 2 * MiB, pattern(2, 64 * 1024));
      await attachVm('ct-rebase', [layer]);
      const diskId = (await host.getVm('ct-rebase')).disks[0]!.id;
      await assert.rejects(host.rebaseVmDisks('ct-rebase', [], folder), code('ERR_INVALID_ARGUMENT'));
      await assert.rejects(host.rebaseVmDisks('ct-rebase', [{ diskId: 'no-such-disk', path: base }], folder), code('ERR_NOT_FOUND'));
      await assert.rejects(host.vmHoldsDiskFiles('no-such-vm'), code('ERR_NOT_FOUND'));
      assert.equal(await host.vmHoldsDiskFiles('ct-rebase'), false, 'an off VM\'s files are free');
      // Running: either the host re-bases it live, or it says it holds the files and refuses, touching nothing.
      await host.startVm('ct-rebase');
      if (await host.vmHoldsDiskFiles('ct-rebase')) {
        await assert.rejects(host.rebaseVmDisks('ct-rebase', [{ diskId, path: base }], folder), code('ERR_INVALID_STATE'));
        assert.equal((await host.getVm('ct-rebase')).disks[0]!.currentPath, layer, 'the refused VM keeps its layer');
        assert.ok(existsSync(layer));
      }
      await host.stopVm('ct-rebase', { force: true });

      const after = await host.rebaseVmDisks('ct-rebase', [{ diskId, path: base }], folder);
      const current = after.disks[0]!.currentPath;
      assert.equal((await host.getVm('ct-rebase')).disks[0]!.currentPath, current);
      assert.ok(current.startsWith(folder), `${current} is in ${folder}`);
      assert.ok(!existsSync(layer), 'the VM\'s previous layer in the folder is gone');
      // Complete-VMFailover deletes the recovery points next: nothing of the old chain may be needed.
      await rm(chain, { recursive: true, force: true });
      assert.ok((await readVhdx(current, 0, MiB)).equals(pattern(1, MiB)), 'what the chain held');
      assert.ok((await readVhdx(current, 2 * MiB, 64 * 1024)).equals(pattern(2, 64 * 1024)), 'what the VM wrote since');
      assert.ok((await readVhdx(current, 3 * MiB, MiB)).equals(Buffer.alloc(MiB)), 'and nothing else');
    });
  });
}
