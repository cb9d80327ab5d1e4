/**
 * What the primary remembers of one relationship between cycles: the position of the last
 * acknowledged log, the reference point that log brought the replica to, and each disk's tracking id at
 * that point. Written atomically after the acknowledgement and before the host commits the point, so a
 * crash between the two leaves a frozen point the next cycle recognises as already delivered.
 */
import { readFile } from 'node:fs/promises';
import { prepareFileAtomic, removeStaleTemps, writeFileAtomic, type PreparedFile } from '../util/atomic-file.js';
import { EngineError } from './errors.js';

export interface PrimaryDiskState {
  /** The GUID the logs of this disk carry. */
  logDiskId: string;
  trackingId: string;
}

export interface PrimaryState {
  formatVersion: 1;
  vmId: string;
  generation: number;
  sequence: number;
  referencePoint: string;
  /** Host disk id → state. */
  disks: Record<string, PrimaryDiskState>;
  /** Tracking continuity was lost: the next cycle sends a full copy in a new generation. */
  fullCopyRequired?: boolean;
}

export async function loadPrimaryState(path: string): Promise<PrimaryState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const state = JSON.parse(text) as PrimaryState;
    if (state.formatVersion !== 1 || typeof state.disks !== 'object' || !Number.isSafeInteger(state.sequence)) throw new Error('unknown layout');
    return state;
  } catch (error) {
    throw new EngineError('ERR_ENGINE_STATE_CORRUPT', `${path} is not a primary replication state (${(error as Error).message}); remove it to start a new initial replication`, { cause: error });
  }
}

/**
 * Writes the state a cycle will leave if the replica acknowledges it, without putting it in place: the
 * cycle does this while its logs are delivered and only commits it (a rename) after the acknowledgement.
 */
export async function preparePrimaryState(path: string, state: PrimaryState): Promise<PreparedFile> {
  // A cycle killed during its delivery left its prepared file; the cycle lock says no other cycle writes one now.
  await removeStaleTemps(path, STALE_TEMP_MS);
  return prepareFileAtomic(path, serialized(state));
}

/** Older than any write of a state by a command (those take a moment); a cycle's own is never this old at its start. */
const STALE_TEMP_MS = 10 * 60 * 1000;

export async function savePrimaryState(path: string, state: PrimaryState): Promise<void> {
  await writeFileAtomic(path, serialized(state));
}

function serialized(state: PrimaryState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}
