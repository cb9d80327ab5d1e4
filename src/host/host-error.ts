/** Errors of host adapters, with the stable codes the CLI maps to exit codes. */
export type HostErrorCode =
  | 'ERR_NOT_FOUND'
  | 'ERR_ALREADY_EXISTS'
  | 'ERR_AMBIGUOUS'
  | 'ERR_INVALID_STATE'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_BUSY'
  | 'ERR_NOT_SUPPORTED'
  | 'ERR_VM_CONFIG_INVALID';

export class HostError extends Error {
  constructor(
    readonly code: HostErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HostError';
  }
}
