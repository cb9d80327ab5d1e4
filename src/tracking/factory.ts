/** The one place that picks a change tracker implementation. */
import type { ChangeTracker } from './change-tracker.js';
import { CheckpointTracker, type CheckpointTrackerOptions } from './checkpoint/checkpoint-tracker.js';
import { HashTracker, type HashTrackerOptions } from './hash/hash-tracker.js';
import { RctTracker, type RctTrackerOptions } from './rct/rct-tracker.js';

export type TrackerOptions =
  | ({ kind: 'checkpoint' } & CheckpointTrackerOptions)
  | ({ kind: 'hash' } & HashTrackerOptions)
  | ({ kind: 'rct' } & RctTrackerOptions);

export async function createChangeTracker(options: TrackerOptions): Promise<ChangeTracker> {
  switch (options.kind) {
    case 'checkpoint':
      return new CheckpointTracker(options);
    case 'hash':
      return new HashTracker(options);
    case 'rct':
      return RctTracker.open(options);
  }
}
