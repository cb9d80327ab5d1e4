/** The hash tracker through the contract suite, over an in-memory sparse image (4 GiB + 8 MiB). */
import { HashTracker } from '../../src/tracking/hash/hash-tracker.js';
import { ManifestStore } from '../../src/tracking/hash/manifest-store.js';
import { tempDir } from '../helpers/paths.js';
import { ContentModel } from './content-model.js';
import { CONTRACT_DISK_SIZE, trackerContract, type TrackerHarness } from './contract.js';
import { MemoryImage } from './memory-image.js';

trackerContract('hash', async (): Promise<TrackerHarness> => {
  const dir = tempDir('hash-contract');
  const live = new ContentModel(CONTRACT_DISK_SIZE);
  return {
    virtualSize: CONTRACT_DISK_SIZE,
    sectorSize: 512,
    contentBased: true,
    write: async (offset, data) => live.write(offset, data),
    zero: async (offset, length) => live.write(offset, Buffer.alloc(length)),
    trim: async (offset, length) => live.write(offset, Buffer.alloc(length)),
    // The frozen image of a point is a copy of the content at that instant.
    referencePoint: async () => new HashTracker({ image: new MemoryImage(live.clone()), stateDir: dir.path, blockSize: 64 * 1024, parallelism: 2 }),
    invalidate: async (id) => new ManifestStore(dir.path).remove(id),
    close: async () => dir.cleanup(),
  };
});
