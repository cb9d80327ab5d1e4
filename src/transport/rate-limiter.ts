/** Token buckets per caller: a steady request rate with a burst allowance. The clock is injectable. */
export interface RateLimitOptions {
  ratePerSecond: number;
  burst: number;
  /** Forget callers idle this long, so the map stays small (default 10 minutes). */
  idleMs?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  constructor(private readonly options: RateLimitOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Takes one token for `key`; false when the caller is over its rate. */
  take(key: string): boolean {
    const now = this.now();
    this.sweep(now);
    const bucket = this.buckets.get(key) ?? { tokens: this.options.burst, at: now };
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.options.ratePerSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private sweep(now: number): void {
    if (this.buckets.size < 1024) return;
    const idle = this.options.idleMs ?? 600_000;
    for (const [key, bucket] of this.buckets) if (now - bucket.at > idle) this.buckets.delete(key);
  }
}
