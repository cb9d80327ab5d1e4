/**
 * Ends an upload's body once the relationship it belongs to is removed on this server (its tombstone,
 * removed-relationships.ts), so that Remove-VMReplication, which waits for the uploads into the replica's
 * folder to end before it deletes the folder (upload-marks.ts), waits about a second for an upload that is
 * streaming, not for the whole log. The tombstone is looked for once a second, never per chunk: a chunk only
 * pays for reading a flag. A body that stalls (nothing arrives) ends by the server's idle timeout instead.
 */
import type { ReplicaError } from './errors.js';

const LOOK_EVERY_MS = 1_000;

export class RemovalWatch {
  private readonly ended = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private looking = false;

  /** `removed` says why the relationship is refused now, or undefined while it is not removed. */
  constructor(removed: () => Promise<ReplicaError | undefined>, everyMs = LOOK_EVERY_MS) {
    this.timer = setInterval(() => {
      if (this.looking || this.ended.signal.aborted) return;
      this.looking = true;
      removed()
        .then((refusal) => {
          if (refusal) this.ended.abort(refusal);
        })
        // An unreadable tombstone is for the next request's admission to report; the upload goes on.
        .catch(() => undefined)
        .finally(() => (this.looking = false));
    }, everyMs);
    this.timer.unref();
  }

  /** `body`, failing with the removal's refusal at the first chunk asked for after the removal was seen. */
  guard<T>(body: AsyncIterable<T>): AsyncIterable<T> {
    const signal = this.ended.signal;
    return {
      [Symbol.asyncIterator]: () => {
        const inner = body[Symbol.asyncIterator]();
        return {
          next: () => (signal.aborted ? Promise.reject(signal.reason as Error) : inner.next()),
          return: (value?: unknown) => inner.return?.(value) ?? Promise.resolve({ done: true as const, value: value as T }),
        };
      },
    };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
