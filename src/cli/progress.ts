/**
 * Progress of long transfers (initial replication, export) on stderr, since stdout belongs to command
 * output: a redrawn bar with bytes, rate and ETA on a terminal, a plain line per tenth otherwise (logs
 * and CI). Rates and ETA come from the bytes and the time elapsed in the current phase.
 */
import type { DeliveryProgress } from '../transport/index.js';
import { formatBytes } from '../util/format-bytes.js';

export { formatBytes };

export interface ProgressReporter {
  update(progress: DeliveryProgress): void;
  done(): void;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export function describeProgress(progress: DeliveryProgress, elapsedSec: number): { text: string; fraction: number | undefined } {
  const rate = elapsedSec > 0 ? progress.bytes / elapsedSec : 0;
  const label = progress.phase === 'spool' ? 'reading disks' : 'sending';
  if (progress.total === undefined || progress.total === 0) {
    return { text: `${label} ${formatBytes(progress.bytes)} at ${formatBytes(rate)}/s`, fraction: undefined };
  }
  const done = Math.min(progress.bytes, progress.total);
  const eta = rate > 0 ? (progress.total - done) / rate : Number.POSITIVE_INFINITY;
  return {
    text: `${label} ${formatBytes(done)} of ${formatBytes(progress.total)} at ${formatBytes(rate)}/s, ETA ${formatDuration(eta)}`,
    fraction: done / progress.total,
  };
}

export function progressReporter(stream: NodeJS.WriteStream, now: () => number = () => performance.now()): ProgressReporter {
  const tty = stream.isTTY === true;
  let phase: DeliveryProgress['phase'] | undefined;
  let phaseStart = now();
  let lastDraw = 0;
  let lastTenth = -1;
  let drawn = false;
  return {
    update(progress) {
      const t = now();
      // The upload follows the spool while it is still being written: once sending has begun it is the one
      // line shown (the reading goes on underneath), so the line and its rate do not flip between the two.
      if (phase === 'upload' && progress.phase === 'spool') return;
      if (progress.phase !== phase) {
        if (drawn && tty) stream.write('\n');
        phase = progress.phase;
        phaseStart = t;
        lastTenth = -1;
        drawn = false;
      }
      const { text, fraction } = describeProgress(progress, (t - phaseStart) / 1000);
      if (tty) {
        if (t - lastDraw < 100 && fraction !== 1) return;
        lastDraw = t;
        const width = 24;
        const filled = fraction === undefined ? 0 : Math.round(fraction * width);
        const bar = fraction === undefined ? '' : `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% `;
        stream.write(`\r\x1b[2K${bar}${text}`);
        drawn = true;
        return;
      }
      const tenth = fraction === undefined ? Math.floor(progress.bytes / (8 * 1024 * 1024)) : Math.floor(fraction * 10);
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      stream.write(`${fraction === undefined ? '' : `${(fraction * 100).toFixed(0)}% `}${text}\n`);
    },
    done() {
      if (drawn && tty) stream.write('\n');
      drawn = false;
    },
  };
}
