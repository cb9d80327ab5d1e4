/**
 * Forgets a relationship's replication position, so that the next relationship of the VM starts with a full
 * copy: a primary's (`<VMId>.primary.json`) or an Extended relationship's on B (`<VMId>.extended-primary.json`).
 * Done under the relationship's cycle lock: a cycle in flight is asked to stop and waited for first (a
 * finished cycle's background commit holds the lock until it is over), so nothing of the old relationship
 * saves the position again after it is gone.
 */
import { rm } from 'node:fs/promises';
import { AgentError } from './errors.js';
import { requestCycleCancel, withCycleLock } from './cycle-lock.js';
import { extendedCycleLockFile, extendedPositionFile } from './extended-relationship.js';
import { cycleLockFile, primaryStateFile } from './paths.js';

/** A cycle that took the lock between the cancel and our taking it is asked to stop this often at most. */
const ATTEMPTS = 3;

async function forgetPosition(lock: string, position: string, vmName: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await requestCycleCancel(lock, vmName);
    try {
      await withCycleLock(lock, vmName, () => rm(position, { force: true }));
      return;
    } catch (error) {
      if (attempt >= ATTEMPTS || !(error instanceof AgentError && error.code === 'ERR_BUSY')) throw error;
    }
  }
}

export function forgetPrimaryPosition(stateDir: string, vmId: string, vmName: string): Promise<void> {
  return forgetPosition(cycleLockFile(stateDir, vmId), primaryStateFile(stateDir, vmId), vmName);
}

/** The position of B's Extended relationship of replica VM `vmId` (the last extended cycle C acknowledged). */
export function forgetExtendedPosition(stateDir: string, vmId: string, vmName: string): Promise<void> {
  return forgetPosition(extendedCycleLockFile(stateDir, vmId), extendedPositionFile(stateDir, vmId), vmName);
}
