/** Runs the HostAdapter contract (./contract.ts) against the file host and the Hyper-V adapter. */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileHost } from '../../src/host/file/file-host.js';
import { HyperVHost } from '../../src/host/hyperv/hyperv-host.js';
import { createDisk, openDisk } from '../../src/vhdx/index.js';
import { tempDir } from '../helpers/paths.js';
import { FakeClock, FakeHyperV } from '../hyperv-unit/fake-hyperv.js';
import { hostAdapterContract, type HostFixture } from './contract.js';

const MiB = 1024 * 1024;

async function vhdxInfo(path: string): Promise<{ virtualSize: number; logicalSectorSize: 512 | 4096 }> {
  const disk = await openDisk(path);
  try {
    return { virtualSize: disk.info.virtualSize, logicalSectorSize: disk.info.logicalSectorSize };
  } finally {
    await disk.close();
  }
}

hostAdapterContract('file host', async (): Promise<HostFixture> => {
  const dir = tempDir('host-contract-file');
  const host = new FileHost({ root: join(dir.path, 'vms') });
  let files = 0;
  return {
    host,
    dir: dir.path,
    createVm: async (name, diskSizes, switchName) =>
      (await host.createVm({ name, disks: diskSizes, blockSize: MiB, networkAdapters: [{ id: 'nic0', name: 'Network Adapter', ...(switchName ? { switchName } : {}) }] })).id,
    attachVm: async (name, paths) => {
      const disks = await Promise.all(paths.map(async (path, i) => ({ id: `disk${i}`, ...(await vhdxInfo(path)) })));
      const configuration = { id: randomUUID(), name, generation: 2 as const, processorCount: 1, memoryBytes: 512 * MiB, networkAdapters: [], disks };
      return (await host.registerReplicaVm(configuration, paths.map((path, i) => ({ diskId: `disk${i}`, path })), { location: join(dir.path, name) })).id;
    },
    diskFile: async (size, sectorSize = 512) => {
      const path = join(dir.path, `extra-${(files += 1)}.vhdx`);
      await createDisk(path, { type: 'dynamic', virtualSize: size, blockSize: MiB, logicalSectorSize: sectorSize });
      return path;
    },
    cleanup: async () => dir.cleanup(),
  };
});

hostAdapterContract('Hyper-V adapter (WMI fake)', async (): Promise<HostFixture> => {
  const dir = tempDir('host-contract-hyperv');
  const hv = new FakeHyperV();
  const host = new HyperVHost({
    stateDir: join(dir.path, 'state'),
    timeouts: { pollIntervalMs: 10 },
    fakes: { wmi: hv, clock: new FakeClock() },
    currentRctId: async (path) => `rctX:5BFDE23B:CE75:4303:B54F:${path.length.toString(16).padStart(12, '0')}:00000001`,
  });
  // Real files behind the fake's disks, so that "the files are kept" is checked on disk, not in the fake.
  const file = (path: string, size: number): string => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, `stand-in for a ${size}-byte VHDX`);
    hv.diskSizes.set(path, size);
    return path;
  };
  let files = 0;
  return {
    host,
    dir: dir.path,
    createVm: async (name, diskSizes, switchName) => {
      const id = randomUUID();
      hv.addVm({
        id,
        name,
        state: 3,
        disks: diskSizes.map((size, slot) => ({ path: file(join(dir.path, name, `disk${slot}.vhdx`), size), slot, virtualSize: size })),
        nics: [{ name: 'Network Adapter', mac: '00155D000001', ...(switchName ? { switchName } : {}) }],
      });
      return id;
    },
    attachVm: async (name, paths) => {
      const id = randomUUID();
      hv.addVm({ id, name, state: 3, disks: await Promise.all(paths.map(async (path, slot) => ({ path, slot, virtualSize: (await vhdxInfo(path)).virtualSize }))) });
      return id;
    },
    diskFile: async (size) => file(join(dir.path, `extra-${(files += 1)}.vhdx`), size),
    cleanup: async () => dir.cleanup(),
  };
});
