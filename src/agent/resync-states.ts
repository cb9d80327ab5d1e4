/**
 * When a relationship is in a resync and when a failed cycle calls for one: what every cycle checks, kept
 * apart from the resync itself (resync.ts, hash-sync.ts) so that a cycle loads the resync's code only
 * when it runs one.
 */
import type { ReplicationState } from '../relationship/types.js';
import { isResyncRequired } from '../tracking/change-tracker.js';
import { TransportError } from '../transport/errors.js';

/** States in which the relationship waits for, runs or paused a resync. */
export const RESYNC_STATES: ReadonlySet<ReplicationState> = new Set<ReplicationState>(['WaitingForStartResynchronize', 'Resynchronizing', 'ResynchronizeSuspended']);

/** Whether a failed cycle calls for a resync: tracking lost on the primary, or the replica out of step. */
export function needsResync(error: unknown): boolean {
  return isResyncRequired(error) || (error instanceof TransportError && error.code === 'ERR_LOG_OUT_OF_SEQUENCE');
}
