/**
 * Which log uploads the replica server is receiving right now, for background work that must give way to
 * them: a cycle is what the primary waits for, and the machine's cores and disk are shared. The manifest
 * keeper (manifest-keeper.ts) hashes only while no upload runs and none ran for a while, and stops a slice
 * as soon as one begins, instead of making the cycle wait for the slice and share the CPU with it.
 */
export class UploadActivity {
  private running = 0;
  private lastEnd = Number.NEGATIVE_INFINITY;
  private yielding = new AbortController();

  constructor(private readonly now: () => number = Date.now) {}

  /** An upload begins; call the returned function once it is over (a second call does nothing). */
  begin(): () => void {
    this.running += 1;
    this.yielding.abort(new UploadBeganError());
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.running -= 1;
      this.lastEnd = this.now();
    };
  }

  /** True while an upload runs, or for `quietMs` after the last one ended (the next log may follow at once). */
  busy(quietMs: number): boolean {
    return this.running > 0 || this.now() - this.lastEnd < quietMs;
  }

  /** Aborted as soon as the next upload begins (with UploadBeganError): background work stops there. */
  untilNextUpload(): AbortSignal {
    if (this.yielding.signal.aborted) this.yielding = new AbortController();
    return this.yielding.signal;
  }
}

/** The reason of an untilNextUpload() abort: the work is given up for now and done again later. */
export class UploadBeganError extends Error {
  constructor() {
    super('a log upload began; background work gives way to it');
    this.name = 'UploadBeganError';
  }
}
