import http2, { type Http2Session, type Http2Stream } from 'node:http2';

/*
 * Node's HTTP/2 (seen on 20.20) corrupts its own heap when, while it is still processing what it received, a
 * session is destroyed or a stream is reset with any code but CANCEL (a CANCEL it queues itself): the reset sends
 * at once, and sending may free a stream its receive loop still uses. The process then aborts later, in an
 * unrelated malloc, with "corrupted size vs. prev_size". Stream events, and the promise continuations of a
 * stream's answer, run inside that processing, so a caller cannot tell whether it is safe to act at once: these
 * wait for the event loop's next turn. test/transport/session-drop.test.ts reproduces the session's case; the
 * stream's was seen in failover-net/replica-failover (a refusal cancelling the sibling upload) and with node:http2
 * alone.
 */

/** Destroys `session` on the event loop's next turn. */
export function destroySessionSoon(session: Http2Session): void {
  if (session.destroyed) return;
  setImmediate(() => session.destroy());
}

/**
 * Resets `stream` with `error` (RST_STREAM INTERNAL_ERROR, so the peer sees the body cut, not ended) on the event
 * loop's next turn. A stream's close(CANCEL) is safe at once: node queues it until its processing ends.
 */
export function resetStreamSoon(stream: Http2Stream, error: Error): void {
  if (stream.destroyed) return;
  setImmediate(() => {
    if (!stream.destroyed) stream.destroy(error);
  });
}

/**
 * Asks the peer to stop sending a request body nobody will read, once this side's answer is sent: RST_STREAM
 * NO_ERROR after a complete response (RFC 9113 §8.1). Without it a refused upload's unread bytes fill the stream's
 * and the session's flow-control windows, so the peer's body (and every other upload of the session) stalls until
 * the idle limit. A stream whose peer already ended its side closes by itself and is left alone. The reset goes on
 * the turn after the answer's last write, never inside HTTP/2's own processing (NO_ERROR is sent at once, like
 * every code but CANCEL; see above).
 */
export function stopRequestBodySoon(stream: Http2Stream): void {
  const stop = () =>
    setImmediate(() => {
      if (!stream.destroyed && !stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
    });
  if (stream.writableFinished) stop();
  else stream.once('finish', stop);
}
