/**
 * Typed failures of failover operations. Codes are the CLI contract's (docs/cli-contract.md §1.5), so the
 * CLI maps them to exit codes and the PowerShell module to error categories without parsing messages.
 */
import { ExitCode, type ExitCodeValue } from '../cli/exit-codes.js';

export type FailoverErrorCode =
  | 'ERR_INVALID_STATE'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_NOT_FOUND'
  | 'ERR_ALREADY_EXISTS'
  | 'ERR_REPLICATION_NOT_ENABLED'
  | 'ERR_NOT_SUPPORTED'
  | 'ERR_CORRUPT_STATE'
  | 'ERR_DATA_MISMATCH'
  /** Something else still works on what the operation needs (an upload into a replica being removed); run it again. */
  | 'ERR_BUSY';

const EXIT: Record<FailoverErrorCode, ExitCodeValue> = {
  ERR_INVALID_STATE: ExitCode.InvalidState,
  ERR_INVALID_ARGUMENT: ExitCode.Usage,
  ERR_NOT_FOUND: ExitCode.NotFound,
  ERR_ALREADY_EXISTS: ExitCode.InvalidState,
  ERR_REPLICATION_NOT_ENABLED: ExitCode.InvalidState,
  ERR_NOT_SUPPORTED: ExitCode.NotSupported,
  ERR_CORRUPT_STATE: ExitCode.Failure,
  ERR_DATA_MISMATCH: ExitCode.Failure,
  ERR_BUSY: ExitCode.Failure,
};

export class FailoverError extends Error {
  readonly exitCode: ExitCodeValue;
  constructor(
    readonly code: FailoverErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FailoverError';
    this.exitCode = EXIT[code];
  }
}

export function isFailoverError(error: unknown, code?: FailoverErrorCode): error is FailoverError {
  return error instanceof FailoverError && (code === undefined || error.code === code);
}
