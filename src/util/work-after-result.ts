/**
 * Work a command leaves running after it has its result (a cycle's reference point committed after the
 * acknowledgement): the CLI waits for it before flushing its log file and exiting, so what that work logs
 * reaches the file and a one-shot process never ends in the middle of it.
 */
const running = new Set<Promise<unknown>>();

export function runsAfterResult(work: Promise<unknown>): void {
  const tracked = work.catch(() => undefined).finally(() => running.delete(tracked));
  running.add(tracked);
}

/** Resolves once every piece of work registered so far (and any registered meanwhile) is over. */
export async function workAfterResultSettled(): Promise<void> {
  while (running.size > 0) await Promise.all([...running]);
}
