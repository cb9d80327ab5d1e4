/**
 * The progress line of long transfers: the upload follows the spool while it is still being written, so
 * updates of both phases interleave; the line must not flip between them, and its rate must be the
 * sending rate (not reset by every reading update).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { progressReporter } from '../../src/cli/progress.js';

const MiB = 1024 * 1024;

function captured(): { stream: NodeJS.WriteStream; lines: string[] } {
  const lines: string[] = [];
  const stream = { isTTY: false, write: (text: string) => (lines.push(...text.split('\n').filter((l) => l !== '')), true) } as unknown as NodeJS.WriteStream;
  return { stream, lines };
}

describe('progress reporter', () => {
  it('shows reading until sending begins, then only sending, at the rate since sending began', () => {
    const { stream, lines } = captured();
    let clock = 0;
    const reporter = progressReporter(stream, () => clock);
    for (let i = 1; i <= 2; i++) {
      clock += 1000;
      reporter.update({ phase: 'spool', bytes: i * 8 * MiB, total: undefined });
    }
    // From here both phases report, interleaved, as the upload follows the growing spool.
    for (let i = 1; i <= 4; i++) {
      clock += 1000;
      reporter.update({ phase: 'upload', bytes: i * 8 * MiB, total: undefined });
      reporter.update({ phase: 'spool', bytes: (2 + i) * 8 * MiB, total: undefined });
    }
    clock += 1000;
    reporter.update({ phase: 'upload', bytes: 48 * MiB, total: 48 * MiB });
    reporter.done();

    const firstSending = lines.findIndex((l) => l.includes('sending'));
    assert.ok(firstSending > 0, lines.join('\n'));
    assert.ok(lines.slice(0, firstSending).every((l) => l.startsWith('reading disks')), lines.join('\n'));
    assert.ok(lines.slice(firstSending).every((l) => l.includes('sending')), lines.join('\n'));
    // 48 MiB in the 4 s since the first sending update: 12 MiB/s, not 0 B/s nor a rate reset by reading updates.
    assert.match(lines.at(-1)!, /^100% sending 48\.0 MiB of 48\.0 MiB at 12\.0 MiB\/s/);
  });
});
