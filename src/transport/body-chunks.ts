/**
 * A request body as the chunks the stream emitted, never joined. Node's async iterator over a Readable
 * calls read(), which concatenates everything the stream has buffered into one new Buffer (Readable's
 * fromList): on the replica server that copied every received byte once more, into a fresh buffer per
 * read that the garbage collector then had to reclaim (bench/replication/README.md, "Replica server CPU").
 * Here the stream flows ('data' hands over each chunk as it was pushed) and is paused while more than
 * `highWaterMark` bytes wait for the consumer, so HTTP/2 flow control still holds the sender back.
 *
 * bodyBatches hands over everything that arrived since the consumer last asked, as one array: the replica
 * server's upload path took one round of promises per 16 KiB HTTP/2 frame in each async step between the
 * stream and the decoder, and a batch takes one round for all the frames of a socket read. The consumer is
 * woken on the next turn of the event loop rather than at once, so that the frames node delivers one by one
 * from the same read are gathered (bench/replication/README.md, "Receive path").
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

/** The body chunk by chunk (a flattened bodyBatches). */
export async function* bodyChunks(stream: Readable, options: BodyChunksOptions = {}): AsyncGenerator<Buffer> {
  for await (const batch of bodyBatches(stream, options)) yield* batch;
}

/** The body as batches of the chunks the stream emitted: each batch is every chunk that waited, in order. */
export async function* bodyBatches(stream: Readable, options: BodyChunksOptions = {}): AsyncGenerator<Buffer[]> {
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  const onChunk = options.onChunk;
  let queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  let waking: NodeJS.Immediate | undefined;
  const notify = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  // On the next turn of the event loop: the other frames of the same socket read join the batch first.
  const notifySoon = () => {
    if (wake !== undefined && waking === undefined) {
      waking = setImmediate(() => {
        waking = undefined;
        notify();
      });
    }
  };
  const onData = (chunk: Buffer | string) => {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    onChunk?.(buffer);
    queue.push(buffer);
    queued += buffer.length;
    if (queued >= highWaterMark) stream.pause();
    notifySoon();
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
      if (queue.length > 0) {
        const batch = queue;
        queue = [];
        queued = 0;
        if (stream.isPaused() && !ended) stream.resume();
        yield batch;
        continue;
      }
      if (failure) throw failure.error;
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    if (waking !== undefined) clearImmediate(waking);
    // Paused before the listener goes: a flowing stream without one would drop what arrives.
    if (!ended) stream.pause();
    stream.off('data', onData);
    stopWatching();
  }
}
