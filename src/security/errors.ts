import { ExitCode, type ExitCodeValue } from '../cli/exit-codes.js';

export type SecurityErrorCode = 'ERR_INVALID_ARGUMENT' | 'ERR_NOT_FOUND' | 'ERR_CERTIFICATE' | 'ERR_NOT_SUPPORTED' | 'ERR_ALREADY_EXISTS';

const EXIT: Record<SecurityErrorCode, ExitCodeValue> = {
  ERR_INVALID_ARGUMENT: ExitCode.Usage,
  ERR_NOT_FOUND: ExitCode.NotFound,
  ERR_CERTIFICATE: ExitCode.Unauthorized,
  ERR_NOT_SUPPORTED: ExitCode.NotSupported,
  ERR_ALREADY_EXISTS: ExitCode.InvalidState,
};

/** A certificate that cannot be made, read or used; the message says which and what to do. */
export class SecurityError extends Error {
  readonly exitCode: ExitCodeValue;
  constructor(
    readonly code: SecurityErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SecurityError';
    this.exitCode = EXIT[code];
  }
}
