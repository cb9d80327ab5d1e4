/**
 * The agents (agent.ts for A→B, extended-agent.ts for B→C) re-read their relationships on a timer. The
 * reads are chained so two never overlap, a failed one is logged and the next tick tries again, and
 * stopping waits for the read in flight so no scheduler is added after the agent stopped.
 */
import { logger } from '../logging/logger.js';

const log = logger('agent');

export class PeriodicRefresh {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> = Promise.resolve();

  /** `what` names the records read, for the log line of a failed read. */
  constructor(
    private readonly refresh: () => Promise<void>,
    private readonly what: string,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.running = this.running
        .then(() => this.refresh())
        .catch((error: unknown) => {
          log.error(`reading the ${this.what} failed`, { error: (error as Error).message });
        });
    }, intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
