/**
 * Typed failures of the replication log codec. Every code is stable (the CLI prints it, the replica
 * server returns it to the primary) and every message says what was wrong and what to do about it.
 */
export type LogErrorCode =
  | 'ERR_LOG_BAD_MAGIC'
  | 'ERR_LOG_UNKNOWN_VERSION'
  | 'ERR_LOG_CHECKSUM'
  | 'ERR_LOG_TRUNCATED'
  | 'ERR_LOG_OVERSIZED'
  | 'ERR_LOG_MALFORMED';

export class LogFormatError extends Error {
  constructor(
    readonly code: LogErrorCode,
    message: string,
    /** Byte position in the log where the problem was found. */
    readonly position?: number,
  ) {
    super(position === undefined ? message : `${message} (at byte ${position})`);
    this.name = 'LogFormatError';
  }
}

/** Invalid arguments given to the encoder or to a value type: a programming or usage error. */
export class ProtocolArgumentError extends Error {
  readonly code = 'ERR_INVALID_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolArgumentError';
  }
}
