/** One holder per key at a time (one upload of a given log), others wait their turn or give up. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /**
   * Runs `body` once every earlier holder of `key` is done. With `giveUp`, a holder that is not its turn by
   * `giveUp.at` (a Date.now() time) throws `giveUp.error()` instead, leaving its place in the queue to the
   * holders after it (they still wait for the ones before it).
   */
  async run<T>(key: string, body: () => Promise<T>, giveUp?: { at: number; error: () => Error }): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    const forget = () => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
    try {
      await (giveUp ? turnBefore(previous, giveUp.at, giveUp.error) : previous);
    } catch (error) {
      release();
      void tail.then(forget);
      throw error;
    }
    try {
      return await body();
    } finally {
      release();
      forget();
    }
  }

  isHeld(key: string): boolean {
    return this.tails.has(key);
  }
}

/** `turn`, or `error()` once `at` has passed first. */
function turnBefore(turn: Promise<void>, at: number, error: () => Error): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(error()), Math.max(0, at - Date.now()))));
  return Promise.race([turn, late]).finally(() => clearTimeout(timer));
}
