/**
 * A weekly bandwidth schedule: rules like "Mon-Fri 08:00-18:00 10MB/s", first match wins, otherwise
 * the default rate (unlimited unless set). Times are the host's local time, as administrators think of
 * business hours; a rule whose end is before its start runs over midnight.
 */
import { TransportError } from './errors.js';

export interface BandwidthRule {
  /** Days of the week, 0 = Sunday … 6 = Saturday. */
  days: number[];
  /** Seconds since local midnight. */
  start: number;
  end: number;
  /** Bytes per second; null = unlimited. */
  bytesPerSecond: number | null;
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, kbit: 125, mbit: 125_000, gbit: 125_000_000 };

function bad(text: string, why: string): never {
  throw new TransportError('ERR_INVALID_ARGUMENT', `bandwidth rule "${text}": ${why} (example: "Mon-Fri 08:00-18:00 10MB/s")`, false);
}

function parseDays(text: string, spec: string): number[] {
  const days = new Set<number>();
  for (const part of spec.toLowerCase().split(',')) {
    const [from, to] = part.split('-');
    const a = DAY_NAMES.indexOf(from ?? '');
    const b = to === undefined ? a : DAY_NAMES.indexOf(to);
    if (a < 0 || b < 0) bad(text, `unknown day "${part}"`);
    for (let d = a; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === b) break;
    }
  }
  return [...days].sort();
}

function parseTime(text: string, spec: string): number {
  const match = /^(\d{1,2}):(\d{2})$/.exec(spec);
  if (!match || Number(match[1]) > 24 || Number(match[2]) > 59 || (Number(match[1]) === 24 && Number(match[2]) !== 0)) bad(text, `invalid time "${spec}"`);
  return Number(match[1]) * 3600 + Number(match[2]) * 60;
}

export function parseRate(text: string, spec: string): number | null {
  if (/^unlimited$/i.test(spec)) return null;
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]+)(?:\/s|ps)?$/i.exec(spec);
  const unit = match?.[2]?.toLowerCase();
  if (!match || !unit || !(unit in UNITS)) bad(text, `invalid rate "${spec}" (use B, KB, MB, GB, KiB, MiB, GiB, Kbit, Mbit, Gbit per second, or unlimited)`);
  const rate = Math.floor(Number(match[1]) * UNITS[unit]!);
  if (rate < 1024) bad(text, 'rates below 1 KiB/s would stall replication');
  return rate;
}

export function parseBandwidthRule(text: string): BandwidthRule {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 3) bad(text, 'expected DAYS START-END RATE');
  const [days, window, rate] = parts as [string, string, string];
  const [start, end] = window.split('-');
  if (start === undefined || end === undefined) bad(text, 'expected a time window START-END');
  return { days: parseDays(text, days), start: parseTime(text, start), end: parseTime(text, end), bytesPerSecond: parseRate(text, rate) };
}

export class BandwidthSchedule {
  constructor(
    readonly rules: readonly BandwidthRule[] = [],
    readonly defaultBytesPerSecond: number | null = null,
  ) {}

  static parse(rules: readonly string[], defaultRate?: string): BandwidthSchedule {
    return new BandwidthSchedule(rules.map(parseBandwidthRule), defaultRate === undefined ? null : parseRate(defaultRate, defaultRate));
  }

  /** The rate in force at `when` (bytes per second; null = unlimited). */
  rateAt(when: Date): number | null {
    const day = when.getDay();
    const seconds = when.getHours() * 3600 + when.getMinutes() * 60 + when.getSeconds();
    for (const rule of this.rules) {
      const overnight = rule.end <= rule.start;
      const inWindow = overnight
        ? (rule.days.includes(day) && seconds >= rule.start) || (rule.days.includes((day + 6) % 7) && seconds < rule.end)
        : rule.days.includes(day) && seconds >= rule.start && seconds < rule.end;
      if (inWindow) return rule.bytesPerSecond;
    }
    return this.defaultBytesPerSecond;
  }
}
