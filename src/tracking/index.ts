/** Public API of the change trackers (see change-tracker.ts for the contract). */
export * from './change-tracker.js';
export { createChangeTracker, type TrackerOptions } from './factory.js';
export { CheckpointTracker, type CheckpointLayer, type CheckpointTrackerOptions } from './checkpoint/checkpoint-tracker.js';
export { HashTracker, type HashTrackerOptions } from './hash/hash-tracker.js';
export { checkRanges, hashImage, hashRanges, type ByteRange, type HashImageOptions } from './hash/hash-image.js';
export {
  decodeManifest,
  diffManifests,
  diffManifestBlocks,
  diffRangeDigests,
  encodeManifest,
  manifestId,
  DEFAULT_BLOCK_SIZE,
  ManifestError,
  type HashManifest,
} from './hash/manifest.js';
export { ManifestStore } from './hash/manifest-store.js';
export { DEFAULT_HASH_ALGORITHM, HASH_ALGORITHMS, type HashAlgorithm } from './hash/hash-algorithm.js';
export { RctTracker, type RctTrackerOptions } from './rct/rct-tracker.js';
export { FakeVirtDisk, type FakeDiskOptions, type FakeQueryBehaviour } from './rct/fake-virtdisk.js';
