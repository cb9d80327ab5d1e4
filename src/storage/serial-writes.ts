/**
 * Runs asynchronous writes one after another with at most one in flight, so the caller can prepare the
 * next one (read and check a record) while the previous reaches the disk. The VHDX engine takes one call
 * at a time per disk; ordering is kept because each write starts only after the one before settled.
 */
export class SerialWrites {
  private inflight: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;

  /** Waits for the write in flight (rethrowing its failure), then starts `write` without waiting for it. */
  async next(write: () => Promise<unknown>): Promise<void> {
    await this.drain();
    this.inflight = write().then(
      () => undefined,
      // Kept, not thrown here: nobody awaits this promise until the next call or drain().
      (error: unknown) => {
        this.failure = { error };
      },
    );
  }

  /** Waits for the write in flight; rethrows the first failure. */
  async drain(): Promise<void> {
    await this.inflight;
    this.inflight = undefined;
    if (this.failure) throw this.failure.error;
  }
}
