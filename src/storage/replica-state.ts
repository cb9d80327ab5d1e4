/**
 * The state file of one replica relationship: which files make up each disk's chain, which recovery
 * point each layer holds, the position, and the logs waiting in incoming/. It is the single source of
 * truth: a file under the storage folder that the state does not name is debris of a crash and goes.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-file.js';
import { StorageError } from './errors.js';
import type { Consistency, RecoveryPoint, ReplicaDiskSpec, ReplicaStorageSettings } from './replica-storage.js';

export const STATE_FORMAT_VERSION = 1;

export interface LayerState {
  /** GUID without braces; names the layer's files. */
  id: string;
  /** Disk id → file name in disks/. */
  files: Record<string, string>;
  /** The recovery point this layer's chain shows, if any. */
  point?: RecoveryPoint;
  /**
   * Written by earlier versions, which kept a layer merged into its parent because the layer above
   * still named it as parent. Retention now re-parents the layer above and deletes such layers (after
   * the VHDX engine proved they repeat their parent); the flag only marks candidates.
   */
  merged?: boolean;
}

export interface PendingCycle {
  generation: number;
  sequence: number;
  consistency: Consistency;
  baseReferencePoint: string;
  newReferencePoint: string;
  /** Disk id → log file name under incoming/. */
  logs: Record<string, string>;
  /**
   * Disk id → a disk under incoming/ that already holds this log applied to an empty disk (a full copy
   * staged while it arrived, staged-disk.ts). Applying takes it instead of the log when the base is empty.
   */
  staged?: Record<string, string>;
  /**
   * Disk ids whose log under incoming/ is hollow (src/replica/hollow-log.ts): it holds the log's framing,
   * and the payloads of its uncompressed data records are read back from the staged disk (or, once that was
   * taken as the base, from the base itself), checked by their record hashes.
   */
  hollow?: string[];
}

export interface StoredState {
  formatVersion: number;
  vmId: string;
  disks: ReplicaDiskSpec[];
  settings: ReplicaStorageSettings;
  /** Last applied cycle; null before the initial replication. */
  position: { generation: number; sequence: number } | null;
  referencePoint: string;
  /** Base reference point of the last applied cycle: a resend that covers it may supersede it. */
  lastBaseReferencePoint: string;
  /** Whether the top layer holds cycles not yet sealed into a point. */
  topDirty: boolean;
  /** ISO time of the last seal (or of creation): the seal interval counts from it. */
  lastSealAt: string;
  pending: PendingCycle[];
  /** Bottom (base) first, top (receiving applied logs, never a point) last. */
  layers: LayerState[];
  /**
   * A retention merge in progress, finished on the next open: `layerId` is merged into the layer below,
   * then the layer above it is re-parented onto that one and the layer is deleted. `reparenting` is set
   * once every disk's merge is done: from then on a merge must not run again, since it would change the
   * DataWriteGuid of a parent that children were already re-parented onto.
   */
  merging?: { layerId: string; reparenting?: boolean };
}

export async function loadState(path: string): Promise<StoredState> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new StorageError('ERR_STORAGE_NOT_FOUND', `no replica storage at ${path}; enable replication for this VM first`, { cause: error });
    }
    throw error;
  }
  let state: StoredState;
  try {
    state = JSON.parse(text) as StoredState;
  } catch (error) {
    throw new StorageError('ERR_STORAGE_STATE_CORRUPT', `${path} is not valid JSON; restore it from a backup or resynchronise the VM`, { cause: error });
  }
  if (state.formatVersion !== STATE_FORMAT_VERSION || !Array.isArray(state.layers) || state.layers.length === 0 || !Array.isArray(state.pending)) {
    throw new StorageError('ERR_STORAGE_STATE_CORRUPT', `${path} is not a replica state of format ${STATE_FORMAT_VERSION}; restore it from a backup or resynchronise the VM`);
  }
  return state;
}

export async function saveState(path: string, state: StoredState): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`);
}
