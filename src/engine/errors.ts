/** Typed failures of the primary's replication engine; codes are stable for scripts and the CLI. */
export type EngineErrorCode = 'ERR_CYCLE_IN_PROGRESS' | 'ERR_ENGINE_STATE_CORRUPT' | 'ERR_INVALID_ARGUMENT' | 'ERR_NOT_ACKNOWLEDGED';

export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EngineError';
  }
}
