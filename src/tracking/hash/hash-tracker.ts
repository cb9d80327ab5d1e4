/**
 * The hash change tracker: a state is named by the manifest of its content, and the changes between two
 * states are the blocks whose digests differ. Works on any readable image, needs nothing from the
 * hypervisor, and is what resynchronisation falls back to when the other trackers lose continuity.
 */
import type { DiskImage } from '../../host/disk-image.js';
import { ResyncRequiredError, type ChangedExtent, type ChangesOptions, type ChangeTracker, type TrackingId } from '../change-tracker.js';
import { throwIfAborted } from '../extents.js';
import type { HashAlgorithm } from './hash-algorithm.js';
import { hashImage } from './hash-image.js';
import { DEFAULT_BLOCK_SIZE, diffManifests, manifestId, validateBlockSize, type HashManifest } from './manifest.js';
import { isHashTrackingId, ManifestStore } from './manifest-store.js';

export interface HashTrackerOptions {
  image: DiskImage;
  /** Directory where the manifests of tracked states are kept. */
  stateDir: string;
  blockSize?: number;
  algorithm?: HashAlgorithm;
  parallelism?: number;
  /** Close the image with the tracker. */
  ownsImage?: boolean;
}

export class HashTracker implements ChangeTracker {
  readonly kind = 'hash' as const;
  readonly granularity: number;
  readonly virtualSize: number;
  private readonly store: ManifestStore;
  private current: Promise<{ id: string; manifest: HashManifest }> | undefined;

  constructor(private readonly options: HashTrackerOptions) {
    this.granularity = options.blockSize ?? DEFAULT_BLOCK_SIZE;
    validateBlockSize(this.granularity);
    this.virtualSize = options.image.virtualSize;
    this.store = new ManifestStore(options.stateDir);
  }

  /** The manifest of the bound image (computed once, saved so a later tracker can diff against it). */
  manifest(): Promise<HashManifest> {
    return this.state().then((s) => s.manifest);
  }

  async enable(): Promise<TrackingId> {
    return (await this.state()).id;
  }

  async currentId(): Promise<TrackingId> {
    return (await this.state()).id;
  }

  async *changesSince(since: TrackingId, options: ChangesOptions = {}): AsyncIterable<ChangedExtent> {
    if (!isHashTrackingId(since)) {
      throw new ResyncRequiredError(`'${since}' is not a hash tracking id; resynchronise the disk`, 'invalid-id');
    }
    const base = await this.store.load(since);
    if (!base) {
      throw new ResyncRequiredError(
        `no manifest is saved for tracking id '${since}' in ${this.options.stateDir}; resynchronise the disk`,
        'unknown-id',
      );
    }
    const { manifest } = await this.state();
    if (base.blockSize !== manifest.blockSize || base.algorithm !== manifest.algorithm || base.virtualSize !== manifest.virtualSize) {
      throw new ResyncRequiredError(
        `tracking id '${since}' was taken with ${base.algorithm}/${base.blockSize}-byte blocks of a ${base.virtualSize}-byte disk, ` +
          `now ${manifest.algorithm}/${manifest.blockSize} of ${manifest.virtualSize}; resynchronise the disk`,
        'invalid-id',
      );
    }
    for (const extent of diffManifests(base, manifest)) {
      throwIfAborted(options.signal);
      yield extent;
    }
  }

  async close(): Promise<void> {
    if (this.options.ownsImage) await this.options.image.close();
  }

  private state(): Promise<{ id: string; manifest: HashManifest }> {
    this.current ??= (async () => {
      const manifest = await hashImage(this.options.image, {
        blockSize: this.granularity,
        ...(this.options.algorithm ? { algorithm: this.options.algorithm } : {}),
        ...(this.options.parallelism ? { parallelism: this.options.parallelism } : {}),
      });
      const id = manifestId(manifest);
      await this.store.save(id, manifest);
      return { id, manifest };
    })();
    return this.current;
  }
}
