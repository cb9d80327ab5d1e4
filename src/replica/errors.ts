/**
 * Errors of the replica server's configuration and of authorization. The codes are the CLI contract's
 * (docs/cli-contract.md §1.5); the exit code rides along for codes the CLI does not map by itself.
 */
import { ExitCode, type ExitCodeValue } from '../cli/exit-codes.js';

export type ReplicaErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_NOT_FOUND'
  | 'ERR_ALREADY_EXISTS'
  | 'ERR_INVALID_STATE'
  | 'ERR_NOT_SUPPORTED'
  | 'ERR_UNAUTHORIZED'
  | 'ERR_BUSY'
  | 'ERR_DISK_FULL'
  | 'ERR_CORRUPT_STATE'
  | 'ERR_REPLICATION_REMOVED';

const EXIT: Record<ReplicaErrorCode, ExitCodeValue> = {
  ERR_INVALID_ARGUMENT: ExitCode.Usage,
  ERR_NOT_FOUND: ExitCode.NotFound,
  ERR_ALREADY_EXISTS: ExitCode.InvalidState,
  ERR_INVALID_STATE: ExitCode.InvalidState,
  ERR_NOT_SUPPORTED: ExitCode.NotSupported,
  ERR_UNAUTHORIZED: ExitCode.Unauthorized,
  ERR_BUSY: ExitCode.Failure,
  ERR_DISK_FULL: ExitCode.Failure,
  ERR_CORRUPT_STATE: ExitCode.Failure,
  ERR_REPLICATION_REMOVED: ExitCode.InvalidState,
};

export class ReplicaError extends Error {
  readonly exitCode: ExitCodeValue;
  constructor(
    readonly code: ReplicaErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ReplicaError';
    this.exitCode = EXIT[code];
  }
}
