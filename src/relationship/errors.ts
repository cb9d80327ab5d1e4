import { ExitCode, type ExitCodeValue } from '../cli/exit-codes.js';

export type RelationshipErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_NOT_FOUND'
  | 'ERR_ALREADY_EXISTS'
  | 'ERR_REPLICATION_NOT_ENABLED'
  | 'ERR_INVALID_STATE'
  | 'ERR_NOT_SUPPORTED'
  | 'ERR_CORRUPT_STATE';

const EXIT: Record<RelationshipErrorCode, ExitCodeValue> = {
  ERR_INVALID_ARGUMENT: ExitCode.Usage,
  ERR_NOT_FOUND: ExitCode.NotFound,
  ERR_ALREADY_EXISTS: ExitCode.InvalidState,
  ERR_REPLICATION_NOT_ENABLED: ExitCode.InvalidState,
  ERR_INVALID_STATE: ExitCode.InvalidState,
  ERR_NOT_SUPPORTED: ExitCode.NotSupported,
  ERR_CORRUPT_STATE: ExitCode.Failure,
};

export class RelationshipError extends Error {
  readonly exitCode: ExitCodeValue;
  constructor(
    readonly code: RelationshipErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RelationshipError';
    this.exitCode = EXIT[code];
  }
}
