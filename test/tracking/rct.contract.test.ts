/** The RCT tracker through the contract suite, against the documented-behaviour fake of virtdisk.dll. */
import { FakeVirtDisk } from '../../src/tracking/rct/fake-virtdisk.js';
import { RctTracker } from '../../src/tracking/rct/rct-tracker.js';
import { CONTRACT_DISK_SIZE, trackerContract, type TrackerHarness } from './contract.js';

let counter = 0;

trackerContract('rct (fake virtdisk)', async (): Promise<TrackerHarness> => {
  const fake = new FakeVirtDisk();
  const path = `C:\\VMs\\contract${++counter}.vhdx`;
  const granularity = 64 * 1024;
  fake.addDisk(path, { virtualSize: CONTRACT_DISK_SIZE, granularity });
  // Small partial results, so every listing crosses many QueryChangesVirtualDisk calls.
  fake.setQueryBehaviour(path, { maxRangesPerCall: 3, maxBytesPerCall: 256 * 1024 * 1024, partialStatus: 234 });
  const enabler = await RctTracker.open({ path, virtdisk: fake, granularity });
  await enabler.enable();
  await enabler.close();
  return {
    virtualSize: CONTRACT_DISK_SIZE,
    sectorSize: 512,
    contentBased: false,
    write: async (offset, data) => fake.write(path, offset, data.length),
    zero: async (offset, length) => fake.write(path, offset, length),
    trim: async (offset, length) => fake.write(path, offset, length),
    referencePoint: async () => {
      fake.seal(path);
      return RctTracker.open({ path, virtdisk: fake, granularity, pageRanges: 5 });
    },
    // Hyper-V drops tracking history it no longer needs: ids before the newest become unknown.
    invalidate: async () => {
      const newest = await RctTracker.open({ path, virtdisk: fake, granularity });
      fake.forgetBefore(path, await newest.currentId());
      await newest.close();
    },
    close: async () => undefined,
  };
});
