/** Failures of the primary's agent and one-shot commands; codes follow docs/cli-contract.md §1.5. */
import { ExitCode, type ExitCodeValue } from '../cli/exit-codes.js';

export type AgentErrorCode = 'ERR_INVALID_ARGUMENT' | 'ERR_INVALID_STATE' | 'ERR_REPLICATION_NOT_ENABLED' | 'ERR_BUSY' | 'ERR_NOT_SUPPORTED' | 'ERR_NOT_FOUND' | 'ERR_RESYNC_REQUIRED' | 'ERR_CANCELLED' | 'ERR_TIMEOUT';

const EXIT: Record<AgentErrorCode, ExitCodeValue> = {
  ERR_INVALID_ARGUMENT: ExitCode.Usage,
  ERR_INVALID_STATE: ExitCode.InvalidState,
  ERR_REPLICATION_NOT_ENABLED: ExitCode.InvalidState,
  ERR_BUSY: ExitCode.Failure,
  ERR_NOT_SUPPORTED: ExitCode.NotSupported,
  ERR_NOT_FOUND: ExitCode.NotFound,
  ERR_RESYNC_REQUIRED: ExitCode.ResyncRequired,
  /** Stopped by another command (initial stop, suspend): not a fault of the cycle. */
  ERR_CANCELLED: ExitCode.Failure,
  ERR_TIMEOUT: ExitCode.Failure,
};

export class AgentError extends Error {
  readonly exitCode: ExitCodeValue;
  constructor(
    readonly code: AgentErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AgentError';
    this.exitCode = EXIT[code];
  }
}
