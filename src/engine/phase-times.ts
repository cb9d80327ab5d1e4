/**
 * Wall time of a cycle's steps, for the debug log: where a cycle's fixed cost goes (reference point,
 * delivery, state save, commit) without a profiler. `lap(name)` closes the step that ran since the last lap.
 */
export class PhaseTimes {
  private last = performance.now();
  private readonly times: Record<string, number> = {};

  lap(name: string): void {
    const now = performance.now();
    this.times[name] = Math.round((this.times[name] ?? 0) + now - this.last);
    this.last = now;
  }

  /** Milliseconds per step, in the order the steps first ran. */
  get ms(): Readonly<Record<string, number>> {
    return this.times;
  }
}
