import type { Http2Session } from 'node:http2';

/**
 * Destroys an HTTP/2 session on the event loop's next turn, never from inside code that handles one of its
 * streams' events. Node's HTTP/2 (seen on 20.20) corrupts its own heap when a session is destroyed while it is
 * still processing what it received: the process aborted later, in an unrelated malloc, with "corrupted size vs.
 * prev_size" (test/transport/session-drop.test.ts reproduces it; node:http2 alone does too). A promise continuation
 * of a stream's answer runs inside that processing, so a caller cannot tell whether it is safe to destroy at once.
 */
export function destroySessionSoon(session: Http2Session): void {
  if (session.destroyed) return;
  setImmediate(() => session.destroy());
}
