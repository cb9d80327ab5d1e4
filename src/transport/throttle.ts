/**
 * A byte-rate limit on a stream, following a bandwidth schedule, and the uploader decorator that
 * applies it. The clock and the sleep are injectable so tests drive time instead of waiting for it.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { BandwidthSchedule } from './bandwidth-schedule.js';
import type { LogSource } from './log-source.js';
import type { RecordHashAlgorithm } from '../protocol/index.js';
import { recordHashOf, type LogUploader, type UploadResult } from './log-uploader.js';

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Shared by every stream of one uploader, so parallel uploads divide the rate instead of multiplying it. */
export class TokenBucket {
  private tokens = 0;
  private at: number;

  constructor(
    private readonly schedule: BandwidthSchedule,
    private readonly clock: Clock = systemClock,
  ) {
    this.at = clock.now();
  }

  /** Resolves when `bytes` may be sent under the rate in force. */
  async take(bytes: number): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      const rate = this.schedule.rateAt(new Date(now));
      if (rate === null) {
        this.tokens = 0;
        this.at = now;
        return;
      }
      // At most one second of burst, so a quiet period does not license a flood afterwards.
      this.tokens = Math.min(rate, this.tokens + ((now - this.at) / 1000) * rate);
      this.at = now;
      if (this.tokens >= bytes || (bytes > rate && this.tokens >= rate)) {
        this.tokens -= bytes;
        return;
      }
      await this.clock.sleep(Math.max(1, Math.ceil(((Math.min(bytes, rate) - this.tokens) / rate) * 1000)));
    }
  }
}

const SLICE = 64 * 1024;

export class ThrottleStream extends Transform {
  constructor(private readonly bucket: TokenBucket) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    (async () => {
      for (let at = 0; at < chunk.length; at += SLICE) {
        const slice = chunk.subarray(at, at + SLICE);
        await this.bucket.take(slice.length);
        this.push(slice);
      }
    })().then(() => callback(), callback);
  }
}

export class BandwidthLimitedUploader implements LogUploader {
  private readonly bucket: TokenBucket;

  constructor(
    private readonly inner: LogUploader,
    schedule: BandwidthSchedule,
    clock: Clock = systemClock,
  ) {
    this.bucket = new TokenBucket(schedule, clock);
  }

  recordHash(signal?: AbortSignal): Promise<RecordHashAlgorithm> {
    return recordHashOf(this.inner, signal);
  }

  upload(source: LogSource, signal?: AbortSignal): Promise<UploadResult> {
    const throttled: LogSource = {
      ...source,
      open: (offset) => {
        const raw = source.open(offset);
        const limited = new ThrottleStream(this.bucket);
        raw.on('error', (error) => limited.destroy(error));
        limited.on('close', () => raw.destroy());
        return raw.pipe(limited);
      },
    };
    return this.inner.upload(throttled, signal);
  }
}
