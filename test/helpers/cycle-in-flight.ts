/**
 * A replication cycle in flight, played by this process: it holds a cycle lock until another process asks it
 * to stop (the cancel marker beside the lock, src/agent/cycle-lock.ts), and on its way out saves its position
 * again, as a real cycle does. For tests of what must stop a cycle before forgetting its position.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { withCycleLock } from '../../src/agent/cycle-lock.js';

/**
 * Runs `action` (another process's command) while a cycle holds `lock` and will save `position` as it is now
 * when it ends; returns the action's result and whether the cycle was asked to stop (else it ends after it).
 */
export async function whileCycleInFlight<T>(lock: string, position: string, action: () => Promise<T>): Promise<{ result: T; cancelSeen: boolean }> {
  const saved = await readFile(position);
  let cycleStarted!: () => void;
  const started = new Promise<void>((resolve) => (cycleStarted = resolve));
  let cancelSeen = false;
  // Ends the cycle if the action finished without asking it to stop (what the callers check it does not do).
  let actionFinished!: () => void;
  const cycle = withCycleLock(lock, 'vm1', async (cancelled) => {
    await new Promise<void>((resolve) => {
      cancelled.addEventListener('abort', () => ((cancelSeen = true), resolve()), { once: true });
      actionFinished = resolve;
      cycleStarted();
    });
    await writeFile(position, saved);
  });
  await started;
  const result = await action();
  actionFinished();
  await cycle;
  return { result, cancelSeen };
}
