/**
 * Which process a process id names now. A file that names a process (a lock's holder) outlives a crash and
 * a reboot, and by then the system may have given the id to an unrelated process; the id together with the
 * process's start (Linux: boot id and start time since boot; Windows: creation time) names one process only.
 */
import { binding } from './binding.js';

/** Text that stays the same while process `pid` runs and differs for any other process given that id; undefined when no process has it or the system does not say. */
export function processStartIdentity(pid: number): string | undefined {
  return binding().processStartIdentity(pid);
}
