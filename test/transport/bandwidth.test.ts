import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import {
  BandwidthLimitedUploader,
  BandwidthSchedule,
  MetricsRegistry,
  newUploadId,
  parseBandwidthRule,
  RateLimiter,
  TokenBucket,
  TransportError,
  type Clock,
  type LogSource,
  type LogUploader,
  type UploadResult,
} from '../../src/transport/index.js';

/** Time that moves only when someone sleeps. */
class FakeClock implements Clock {
  slept = 0;
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.slept += ms;
    this.t += ms;
  }
}

// Local-time dates, since schedules follow the host's clock: 2026-11-23 is a Monday.
const monday = (h: number, m = 0) => new Date(2026, 10, 23, h, m);
const sunday = (h: number) => new Date(2026, 10, 29, h);

describe('bandwidth schedule', () => {
  it('parses rules and picks the first that matches, else the default', () => {
    const schedule = BandwidthSchedule.parse(['Mon-Fri 08:00-18:00 10MB/s', 'Sat,Sun 00:00-24:00 unlimited', 'Mon-Sun 22:00-06:00 100Mbit'], '1GB');
    assert.equal(schedule.rateAt(monday(9)), 10_000_000);
    assert.equal(schedule.rateAt(monday(18)), 1_000_000_000, 'the end is exclusive');
    assert.equal(schedule.rateAt(monday(23)), 12_500_000);
    assert.equal(schedule.rateAt(monday(3)), 12_500_000, 'an overnight window covers the early morning');
    assert.equal(schedule.rateAt(sunday(12)), null);
    assert.equal(new BandwidthSchedule().rateAt(monday(9)), null, 'no rules: unlimited');
  });

  it('wraps day ranges over the weekend and refuses nonsense', () => {
    assert.deepEqual(parseBandwidthRule('Fri-Mon 00:00-01:00 1MiB').days, [0, 1, 5, 6]);
    for (const bad of ['Funday 08:00-09:00 1MB', 'Mon 25:00-26:00 1MB', 'Mon 08:00-09:00 fast', 'Mon 08:00-09:00 10B', 'Mon 08:00 1MB']) {
      assert.throws(() => parseBandwidthRule(bad), (e: TransportError) => e.code === 'ERR_INVALID_ARGUMENT' && /example/.test(e.message), bad);
    }
  });
});

describe('token bucket', () => {
  it('holds the byte rate in force, by the injected clock', async () => {
    const clock = new FakeClock(monday(9).getTime());
    const bucket = new TokenBucket(BandwidthSchedule.parse(['Mon 08:00-18:00 100KB/s']), clock);
    for (let i = 0; i < 10; i += 1) await bucket.take(50_000);
    // 500 kB at 100 kB/s: about 5 s of waiting, the first second's burst included.
    assert.ok(clock.slept >= 4000 && clock.slept <= 5100, `slept ${clock.slept} ms`);
  });

  it('does not wait when the schedule says unlimited', async () => {
    const clock = new FakeClock(sunday(12).getTime());
    const bucket = new TokenBucket(BandwidthSchedule.parse(['Mon 08:00-18:00 100KB/s']), clock);
    for (let i = 0; i < 10; i += 1) await bucket.take(1_000_000);
    assert.equal(clock.slept, 0);
  });
});

describe('bandwidth-limited uploader (decorator)', () => {
  it('passes every byte through, paced by the schedule', async () => {
    const data = randomBytes(300 * 1024);
    const received: Buffer[] = [];
    const inner: LogUploader = {
      async upload(source: LogSource): Promise<UploadResult> {
        for await (const chunk of source.open(1024)) received.push(chunk as Buffer);
        const { length } = await source.finished();
        return { ReceivedBytes: length, Accepted: true, Position: '1/1@0', SentBytes: length - 1024, Attempts: 1 };
      },
    };
    const clock = new FakeClock(monday(10).getTime());
    const limited = new BandwidthLimitedUploader(inner, BandwidthSchedule.parse(['Mon-Fri 00:00-24:00 100KiB/s']), clock);
    const source: LogSource = {
      key: { vmId: '11111111-2222-4333-8444-555555555555', diskId: '11111111-2222-4333-8444-555555555556', generation: 1, sequence: 1 },
      uploadId: newUploadId(),
      complete: () => ({ length: data.length, hash: '0'.repeat(64) }),
      finished: async () => ({ length: data.length, hash: '0'.repeat(64) }),
      open: (offset) => Readable.from([data.subarray(offset)]),
    };
    const result = await limited.upload(source);
    assert.equal(result.Accepted, true);
    assert.ok(Buffer.concat(received).equals(data.subarray(1024)));
    assert.ok(clock.slept >= 1500, `slept ${clock.slept} ms for ~299 KiB at 100 KiB/s`);
  });
});

describe('request rate limiter', () => {
  it('allows a burst, then the steady rate, per caller', () => {
    let now = 0;
    const limiter = new RateLimiter({ ratePerSecond: 2, burst: 3, now: () => now });
    assert.deepEqual([1, 2, 3, 4].map(() => limiter.take('a')), [true, true, true, false]);
    assert.equal(limiter.take('b'), true, 'callers are independent');
    now += 500;
    assert.equal(limiter.take('a'), true);
    assert.equal(limiter.take('a'), false);
  });
});

describe('metrics registry', () => {
  it('renders Prometheus text with escaped labels', () => {
    const m = new MetricsRegistry();
    m.define('hvr_x_total', 'counter', 'Things');
    m.inc('hvr_x_total', { code: 'a"b' }, 2);
    m.define('hvr_g', 'gauge', 'Level');
    assert.equal(m.render(), '# HELP hvr_x_total Things\n# TYPE hvr_x_total counter\nhvr_x_total{code="a\\"b"} 2\n# HELP hvr_g Level\n# TYPE hvr_g gauge\nhvr_g 0\n');
  });
});
