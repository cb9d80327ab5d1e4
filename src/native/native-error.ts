/**
 * The one error class for failures that come from the native addon or the operating system.
 * `code` is stable (scripts and the PowerShell module match on it); `errno` is the OS error number
 * (errno on POSIX, the Win32 error or HRESULT on Windows), 0 when the error is not from the OS.
 */
export type NativeErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_NOT_SUPPORTED'
  | 'ERR_NOT_FOUND'
  | 'ERR_ACCESS_DENIED'
  | 'ERR_ALREADY_EXISTS'
  | 'ERR_DISK_FULL'
  | 'ERR_IO'
  | 'ERR_OS'
  | 'ERR_RESYNC_REQUIRED'
  | 'ERR_OUT_OF_MEMORY'
  | 'ERR_INTERNAL'
  | `ERR_VHDX_${string}`
  | `ERR_${string}`;

export interface NativeErrorDetails {
  code: NativeErrorCode;
  errno?: number;
  syscall?: string;
}

export class NativeError extends Error {
  readonly code: NativeErrorCode;
  readonly errno: number;
  readonly syscall: string | undefined;

  constructor(message: string, details: NativeErrorDetails) {
    super(message);
    this.name = 'NativeError';
    this.code = details.code;
    this.errno = details.errno ?? 0;
    this.syscall = details.syscall;
  }

  toJSON(): { name: string; code: string; errno: number; syscall?: string; message: string } {
    return {
      name: this.name,
      code: this.code,
      errno: this.errno,
      ...(this.syscall ? { syscall: this.syscall } : {}),
      message: this.message,
    };
  }
}

export function isNativeError(error: unknown, code?: NativeErrorCode): error is NativeError {
  return error instanceof NativeError && (code === undefined || error.code === code);
}
