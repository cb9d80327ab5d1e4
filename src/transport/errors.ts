import { ExitCode, type ExitCodeValue } from '../cli/exit-codes.js';

/**
 * A failure talking to a replica server. `retryable` says whether trying again later can help
 * (network faults, busy server) or not (refused certificate, rejected log).
 */
export class TransportError extends Error {
  readonly exitCode: ExitCodeValue;
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    readonly receivedBytes?: number,
  ) {
    super(message);
    this.name = 'TransportError';
    this.exitCode =
      code === 'ERR_UNAUTHORIZED' || code === 'ERR_CERTIFICATE_REQUIRED' || code === 'ERR_CERTIFICATE'
        ? ExitCode.Unauthorized
        : code === 'ERR_INVALID_STATE' || code === 'ERR_REPLICATION_REMOVED'
          ? ExitCode.InvalidState
          : ExitCode.Failure;
  }
}
