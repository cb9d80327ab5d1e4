/**
 * The CLI's exit codes. They are part of the contract with the PowerShell module, scheduled tasks and
 * Windows Admin Center scripts: never renumber, only add. Documented in README.md.
 */
export const ExitCode = {
  Ok: 0,
  /** The operation failed (I/O, network, content); the message says why. */
  Failure: 1,
  /** Unknown command or option, or an invalid parameter value. */
  Usage: 2,
  /** The VM, relationship, disk, file or entry named does not exist. */
  NotFound: 3,
  /** Refused in the current replication or failover state. */
  InvalidState: 4,
  /** The peer's certificate or authorization entry was refused, or none was given. */
  Unauthorized: 5,
  /** Change tracking continuity is lost; a resynchronization is needed. */
  ResyncRequired: 6,
  /** The host lacks what the operation needs (RCT, VSS, Hyper-V). */
  NotSupported: 7,
  /** A bug: please report it with the log file. */
  Internal: 70,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
