import { NativeError } from '../native/native-error.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';

/** An error a command reports to the user: a stable code, a message that says what to do, an exit code. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.Failure,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Any error carrying a stable `code` string (NativeError, CliError, domain errors). */
interface CodedError extends Error {
  code: string;
  exitCode?: ExitCodeValue;
  errno?: number;
}

function hasCode(error: unknown): error is CodedError {
  return error instanceof Error && typeof (error as Partial<CodedError>).code === 'string';
}

const EXIT_BY_CODE: Record<string, ExitCodeValue> = {
  ERR_INVALID_ARGUMENT: ExitCode.Usage,
  ERR_USAGE: ExitCode.Usage,
  ERR_NOT_FOUND: ExitCode.NotFound,
  ERR_INVALID_STATE: ExitCode.InvalidState,
  ERR_ALREADY_EXISTS: ExitCode.InvalidState,
  ERR_UNAUTHORIZED: ExitCode.Unauthorized,
  ERR_RESYNC_REQUIRED: ExitCode.ResyncRequired,
  ERR_NOT_SUPPORTED: ExitCode.NotSupported,
  ERR_HYPERV_UNAVAILABLE: ExitCode.NotSupported,
  ERR_INTERNAL: ExitCode.Internal,
};

export interface ErrorReport {
  code: string;
  message: string;
  exitCode: ExitCodeValue;
  errno?: number;
}

/** Normalises anything thrown by a command into what the CLI prints and the exit code it returns. */
export function describeError(error: unknown): ErrorReport {
  if (hasCode(error)) {
    const exitCode = error.exitCode ?? EXIT_BY_CODE[error.code] ?? ExitCode.Failure;
    const report: ErrorReport = { code: error.code, message: error.message, exitCode };
    if (error instanceof NativeError && error.errno !== 0) report.errno = error.errno;
    return report;
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'ERR_INTERNAL', message: `internal error: ${message}`, exitCode: ExitCode.Internal };
}
