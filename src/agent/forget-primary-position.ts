/**
 * Forgets a primary relationship's replication position (`<VMId>.primary.json`), so that the next
 * relationship of the VM starts with a full copy. Done under the VM's cycle lock: a cycle in flight is asked
 * to stop and waited for first (a finished cycle's background commit holds the lock until it is over), so
 * nothing of the old relationship saves the position again after it is gone.
 */
import { rm } from 'node:fs/promises';
import { AgentError } from './errors.js';
import { requestCycleCancel, withCycleLock } from './cycle-lock.js';
import { cycleLockFile, primaryStateFile } from './paths.js';

/** A cycle that took the lock between the cancel and our taking it is asked to stop this often at most. */
const ATTEMPTS = 3;

export async function forgetPrimaryPosition(stateDir: string, vmId: string, vmName: string): Promise<void> {
  const lock = cycleLockFile(stateDir, vmId);
  for (let attempt = 1; ; attempt++) {
    await requestCycleCancel(lock, vmName);
    try {
      await withCycleLock(lock, vmName, () => rm(primaryStateFile(stateDir, vmId), { force: true }));
      return;
    } catch (error) {
      if (attempt >= ATTEMPTS || !(error instanceof AgentError && error.code === 'ERR_BUSY')) throw error;
    }
  }
}
