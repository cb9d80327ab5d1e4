/**
 * A request body as the chunks the stream emitted, never joined. Node's async iterator over a Readable
 * calls read(), which concatenates everything the stream has buffered into one new Buffer (Readable's
 * fromList): on the replica server that copied every received byte once more, into a fresh buffer per
 * read that the garbage collector then had to reclaim (bench/replication/README.md, "Replica server CPU").
 * Here the stream flows ('data' hands over each chunk as it was pushed) and is paused while more than
 * `highWaterMark` bytes wait for the consumer, so HTTP/2 flow control still holds the sender back.
 *
 * A consumer that stops early leaves the stream paused and open (the server still answers on it). A body
 * whose stream errors or closes before its end fails the iteration: a cut body never looks complete. (A
 * sender that ends its body and then resets the stream, as node's `close(code)` does, has sent a whole body as
 * far as anyone can tell here; hvreplica's client cancels with `destroy`, which the receiver sees as a cut.)
 */
import { finished, type Readable } from 'node:stream';

const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

export interface BodyChunksOptions {
  /** Bytes received and not yet taken by the consumer before the stream is paused (default 1 MiB). */
  highWaterMark?: number;
  /** Told of every chunk as it arrives (counting bytes here saves a generator per chunk around this one). */
  onChunk?: (chunk: Buffer) => void;
}

export async function* bodyChunks(stream: Readable, options: BodyChunksOptions = {}): AsyncGenerator<Buffer> {
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  const onChunk = options.onChunk;
  const queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const onData = (chunk: Buffer | string) => {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    onChunk?.(buffer);
    queue.push(buffer);
    queued += buffer.length;
    if (queued >= highWaterMark) stream.pause();
    notify();
  };
  // Settles on the end of the body ('end', after every chunk was handed out), an error, or a close first.
  const stopWatching = finished(stream, { writable: false }, (error) => {
    if (error) failure ??= { error };
    else ended = true;
    notify();
  });
  stream.on('data', onData);
  try {
    for (;;) {
      const chunk = queue.shift();
      if (chunk !== undefined) {
        queued -= chunk.length;
        if (queued < highWaterMark && stream.isPaused() && !ended) stream.resume();
        yield chunk;
        continue;
      }
      if (failure) throw failure.error;
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    // Paused before the listener goes: a flowing stream without one would drop what arrives.
    if (!ended) stream.pause();
    stream.off('data', onData);
    stopWatching();
  }
}
