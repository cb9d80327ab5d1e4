/**
 * Ends an upload's body once the VM it belongs to refuses it from now on: its relationship was removed on
 * this server (its tombstone, removed-relationships.ts), or it failed over here (its failover record,
 * replica-records.ts). Remove-VMReplication and Complete-VMFailover wait for the uploads into the replica's
 * folder to end before they delete the folder (upload-marks.ts); with this they wait about a second, not
 * for the whole log, and the primary hears why at once. The refusal is looked for once a second, never per
 * chunk: a chunk only pays for reading a flag.
 *
 * A body that stalls (its primary stopped sending, or was paused) ends too: a chunk the receiver waits for
 * is given up as soon as the refusal is seen, instead of at the server's idle timeout (60 s).
 */
import type { ReplicaError } from './errors.js';

const LOOK_EVERY_MS = 1_000;

export class RefusalWatch {
  private readonly ended = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private looking = false;

  /** `refusal` says why the VM refuses the upload now, or undefined while it takes it. */
  constructor(refusal: () => Promise<ReplicaError | undefined>, everyMs = LOOK_EVERY_MS) {
    this.timer = setInterval(() => {
      if (this.looking || this.ended.signal.aborted) return;
      this.looking = true;
      refusal()
        .then((refused) => {
          if (refused) this.ended.abort(refused);
        })
        // An unreadable tombstone or record is for the next request's admission to report; the upload goes on.
        .catch(() => undefined)
        .finally(() => (this.looking = false));
    }, everyMs);
    this.timer.unref();
  }

  /** `body`, failing with the refusal at the first chunk asked for (or waited for) once the refusal was seen. */
  guard<T>(body: AsyncIterable<T>): AsyncIterable<T> {
    const signal = this.ended.signal;
    // Only the chunk waited for now can be given up. Never a race against one promise that lives as long as the
    // upload: each race leaves a reaction on it that keeps its chunk reachable, so a whole upload stayed in memory.
    let giveUp: ((reason: unknown) => void) | undefined;
    signal.addEventListener('abort', () => giveUp?.(signal.reason), { once: true });
    return {
      [Symbol.asyncIterator]: () => {
        const inner = body[Symbol.asyncIterator]();
        return {
          next: () => {
            if (signal.aborted) return Promise.reject(signal.reason as Error);
            const chunk = inner.next();
            // A chunk given up for the refusal may still fail later (its stream closes): nobody waits for it then.
            chunk.catch(() => undefined);
            return new Promise<IteratorResult<T>>((resolve, reject) => {
              giveUp = reject;
              chunk.then(resolve, reject);
            });
          },
          return: (value?: unknown) => inner.return?.(value) ?? Promise.resolve({ done: true as const, value: value as T }),
        };
      },
    };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
