/**
 * Fires a relationship's cycles at its replication frequency (Hyper-V's 30 s, 5 min or 15 min). A tick
 * that finds the previous cycle still running is counted as missed and skipped, as Hyper-V delays a
 * send that overruns its interval: one VM never has two cycles at once.
 */
import { logger } from '../logging/logger.js';
import { EngineError } from './errors.js';

const log = logger('scheduler');

export const REPLICATION_FREQUENCIES = [30, 300, 900] as const;
export type ReplicationFrequency = (typeof REPLICATION_FREQUENCIES)[number];

/** The timer the scheduler uses; tests pass one they fire by hand. */
export interface SchedulerTimer {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimer: SchedulerTimer = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface Steppable<T> {
  syncOnce(signal?: AbortSignal): Promise<T>;
}

export interface SchedulerOptions<T> {
  frequencySeconds: ReplicationFrequency;
  timer?: SchedulerTimer;
  /** Called after every cycle with its result or its error. */
  onCycle?: (outcome: { ok: true; result: T } | { ok: false; error: unknown }) => void;
}

export interface SchedulerStats {
  cycles: number;
  failures: number;
  /** Ticks skipped because the previous cycle was still running. */
  missed: number;
}

export class ReplicationScheduler<T> {
  private readonly timer: SchedulerTimer;
  private handle: unknown;
  private controller: AbortController | undefined;
  private current: Promise<void> | undefined;
  private readonly counters: SchedulerStats = { cycles: 0, failures: 0, missed: 0 };

  constructor(
    private readonly target: Steppable<T>,
    private readonly options: SchedulerOptions<T>,
  ) {
    if (!(REPLICATION_FREQUENCIES as readonly number[]).includes(options.frequencySeconds)) {
      throw new EngineError('ERR_INVALID_ARGUMENT', `replication frequency must be 30, 300 or 900 seconds, got ${String(options.frequencySeconds)}`);
    }
    this.timer = options.timer ?? realTimer;
  }

  get stats(): SchedulerStats {
    return { ...this.counters };
  }

  get running(): boolean {
    return this.controller !== undefined;
  }

  /** Starts ticking; the first cycle runs one interval from now. Aborting `signal` stops the scheduler. */
  start(signal?: AbortSignal): void {
    if (this.controller) return;
    this.controller = new AbortController();
    signal?.addEventListener('abort', () => void this.stop(), { once: true });
    if (signal?.aborted) {
      void this.stop();
      return;
    }
    this.arm();
  }

  /** Stops ticking, aborts a running cycle and waits for it to end. */
  async stop(): Promise<void> {
    const controller = this.controller;
    if (!controller) return;
    this.controller = undefined;
    if (this.handle !== undefined) this.timer.clear(this.handle);
    this.handle = undefined;
    controller.abort();
    await this.current;
  }

  private arm(): void {
    this.handle = this.timer.set(() => this.tick(), this.options.frequencySeconds * 1000);
  }

  private tick(): void {
    const controller = this.controller;
    if (!controller) return;
    this.arm();
    if (this.current) {
      this.counters.missed += 1;
      log.warn('replication cycle still running at the next interval; this interval is missed', { missed: this.counters.missed });
      return;
    }
    this.current = this.runOne(controller.signal).finally(() => {
      this.current = undefined;
    });
  }

  private async runOne(signal: AbortSignal): Promise<void> {
    try {
      const result = await this.target.syncOnce(signal);
      this.counters.cycles += 1;
      this.options.onCycle?.({ ok: true, result });
    } catch (error) {
      this.counters.failures += 1;
      log.warn('replication cycle failed; the next cycle covers its changes', { error: (error as Error).message });
      this.options.onCycle?.({ ok: false, error });
    }
  }
}
