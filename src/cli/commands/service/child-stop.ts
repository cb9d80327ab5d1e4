import type { ChildProcess } from 'node:child_process';
import { STOP_MESSAGE } from '../../stop-request.js';

/**
 * How long a role gets to stop by itself before it is ended: below the 60 s the service announces to the
 * Service Control Manager as its stop's wait hint (windows_service_win.cc), so the service still reports a stop.
 */
export const ROLE_STOP_GRACE_MS = 45_000;

/**
 * Asks a role started with an IPC channel to stop (stop-request.ts) and ends it only if it has not exited
 * within `graceMs`; without a channel, ends it at once. Resolves once the child has exited.
 */
export async function stopChild(child: ChildProcess, graceMs: number = ROLE_STOP_GRACE_MS): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (!child.connected || !child.send(STOP_MESSAGE)) {
    child.kill();
    return exited;
  }
  const deadline = setTimeout(() => child.kill(), graceMs);
  await exited;
  clearTimeout(deadline);
}
