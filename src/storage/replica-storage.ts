/**
 * Replica storage: what the replica side keeps for one replicated VM, behind one narrow interface so
 * that every implementation passes the same contract suite (test/storage/contract.ts).
 *
 * Life of a log: `receive` stores it durably under incoming/ and validates it against the position
 * (that is the moment the replica may acknowledge it); `applyPending` writes every complete cycle into
 * the top layer of each disk and advances the position; `seal` turns the top layer into a recovery
 * point. A cycle is one log per disk with the same generation and sequence: the position only moves
 * once every disk of the cycle is applied, so a recovery point never mixes cycles across disks.
 */
import type { LogHeader } from '../protocol/log-format.js';
import type { ReplicationPosition } from '../protocol/position.js';
import type { VhdxDisk } from '../vhdx/index.js';

export type Consistency = 'crash' | 'application';

export interface ReplicaDiskSpec {
  /** The primary's disk id (a GUID, as in the log header). */
  diskId: string;
  virtualSize: number;
  logicalSectorSize: 512 | 4096;
}

export interface ReplicaStorageSettings {
  /** Recovery points kept besides the latest (Hyper-V's RecoveryHistory, 0–24; more is allowed here). */
  recoveryHistory: number;
  /** A crash-consistent point is sealed once the top layer is this old (Hyper-V: one hour). */
  sealIntervalMs: number;
}

export const DEFAULT_STORAGE_SETTINGS: ReplicaStorageSettings = { recoveryHistory: 24, sealIntervalMs: 60 * 60 * 1000 };

export interface RecoveryPoint {
  /** Stable id (the layer's GUID without braces). */
  id: string;
  /** ISO 8601 UTC time the point was sealed. */
  createdAt: string;
  consistency: Consistency;
  /** Position of the last cycle the point contains. */
  generation: number;
  sequence: number;
  /** The primary's reference point this state corresponds to. */
  referencePoint: string;
}

export interface ReceiveResult {
  header: LogHeader;
  /** True when this log completed its cycle (every disk's log is now stored). */
  cycleComplete: boolean;
}

export interface ApplyResult {
  /** Cycles applied by this call, in order. */
  applied: Array<{ generation: number; sequence: number; consistency: Consistency }>;
  /** Recovery points sealed by this call (application-consistent cycles seal at once). */
  sealed: RecoveryPoint[];
}

export interface ReplicaStatus {
  vmId: string;
  disks: ReplicaDiskSpec[];
  /** Undefined until the initial replication has been applied. */
  position: ReplicationPosition | undefined;
  /** Reference point of the primary the replica is at ('' before the initial replication). */
  referencePoint: string;
  /** Cycles stored under incoming/ and not yet applied. */
  pending: Array<{ generation: number; sequence: number; disks: string[] }>;
  settings: ReplicaStorageSettings;
}

export interface ReplicaStorage {
  readonly vmId: string;
  status(): Promise<ReplicaStatus>;
  /**
   * Validates and stores one log durably. Refuses (stored nothing) a log of another VM or disk
   * (ERR_LOG_MISMATCH), one that does not follow the position (ERR_LOG_OUT_OF_SEQUENCE), one already
   * applied (ERR_LOG_DUPLICATE), a corrupt log (the decoder's ERR_LOG_*) and a full disk (ERR_DISK_FULL).
   */
  receive(log: AsyncIterable<Uint8Array>): Promise<ReceiveResult>;
  /** Applies every complete pending cycle in order; safe to call again after a crash at any point. */
  applyPending(): Promise<ApplyResult>;
  /** Seals the top layer when the interval has passed (and it holds something new). */
  sealIfDue(now?: Date): Promise<RecoveryPoint | undefined>;
  /** Seals the top layer now; returns the latest point unchanged when nothing was applied since. */
  seal(now?: Date): Promise<RecoveryPoint | undefined>;
  /** Oldest first. */
  listRecoveryPoints(): Promise<RecoveryPoint[]>;
  /** The chain of one disk as it was at a point, read-only. Close it when done. */
  openRecoveryPoint(pointId: string, diskId: string): Promise<VhdxDisk>;
  /** The latest applied content of one disk (top layer and its chain), read-only. */
  openLatest(diskId: string): Promise<VhdxDisk>;
}
