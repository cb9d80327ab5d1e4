/**
 * Typed failures of replica storage. Codes are stable: the replica server returns them to the primary,
 * which decides from the code alone whether to resend, wait, or start a resynchronisation.
 */
export type StorageErrorCode =
  /** The log does not follow the replica's position (a gap, or an older generation). */
  | 'ERR_LOG_OUT_OF_SEQUENCE'
  /** The log was already applied; the primary may treat its delivery as acknowledged. */
  | 'ERR_LOG_DUPLICATE'
  /** The log belongs to another VM, names a disk the replica does not have, or has another geometry. */
  | 'ERR_LOG_MISMATCH'
  | 'ERR_STORAGE_NOT_FOUND'
  | 'ERR_STORAGE_EXISTS'
  | 'ERR_STORAGE_STATE_CORRUPT'
  | 'ERR_RECOVERY_POINT_NOT_FOUND'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_DISK_FULL'
  /**
   * A received cycle's stored log, or its staged disk (with the payloads a hollow log left there), no longer
   * matches the checksums of its log: damaged at rest on the replica. The cycle was dropped unapplied; the
   * primary sends it again.
   */
  | 'ERR_STORED_DATA_CORRUPT';

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

export function isStorageError(error: unknown, code?: StorageErrorCode): error is StorageError {
  return error instanceof StorageError && (code === undefined || error.code === code);
}

/** Node reports a full file system as ENOSPC (or EDQUOT for a quota); the native addon as ERR_DISK_FULL. */
export function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'ERR_DISK_FULL';
}
