/**
 * Holding something (a lock, an open storage) only while it is read from, not while what was read is sent
 * on: `send` gets the held thing and a `read` callback; the hold ends when `send` calls `read` (all it
 * needs is read) or ends, and whatever `send` does after `read` runs without it. `read()` resolves once
 * the hold has ended. The outcome, or the failure, is `send`'s.
 */
export async function heldUntilRead<H, T>(hold: (body: (held: H) => Promise<void>) => Promise<void>, send: (held: H, read: () => Promise<void>) => Promise<T>): Promise<T> {
  let sending: Promise<T> | undefined;
  let holdEnded!: () => void;
  const ended = new Promise<void>((resolve) => (holdEnded = resolve));
  try {
    await hold(async (held) => {
      let readDone!: () => void;
      const done = new Promise<void>((resolve) => (readDone = resolve));
      sending = send(held, () => {
        readDone();
        return ended;
      });
      // Only ends the held part; the outcome is taken from `sending` below (a handler is attached here, so
      // a failure while held is never an unhandled rejection).
      await Promise.race([done, sending.then(() => undefined, () => undefined)]);
    });
  } finally {
    holdEnded();
  }
  if (!sending) throw new Error('heldUntilRead: the hold never ran its body');
  return sending;
}
