/**
 * decodeLog with payloadsInPlace over a PositionalReader: uncompressed data records come out as where their
 * payloads lie in the log (unread, unchecked), everything else as decoded records, and the framing is still
 * checked (header, counts, whole-log hash over the record checksums, truncation). A version 1 log, whose
 * whole-log hash covers the payloads, is decoded as without the option.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeLog, LogFormatError, type LogEntry, type LogRecordInput } from '../../src/protocol/index.js';
import { PositionalReader } from '../../src/protocol/positional-reader.js';
import { asVersion1 } from '../helpers/log-version1.js';
import { encodeToBuffer, header, textLike } from './helpers.js';

const RECORDS: LogRecordInput[] = [
  { type: 'data', offset: 0, data: randomBytes(128 * 1024) },
  { type: 'data', offset: 1024 * 1024, data: textLike(64 * 1024) },
  { type: 'zero', offset: 4 * 1024 * 1024, length: 1024 * 1024 },
  { type: 'data', offset: 6 * 1024 * 1024 + 512, data: randomBytes(4096 + 512) },
  { type: 'trim', offset: 8 * 1024 * 1024, length: 4096 },
];

describe('decoding a log with its payloads left in place', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hvr-in-place-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function entriesOf(log: Buffer, name: string): Promise<LogEntry[]> {
    const path = join(dir, name);
    await writeFile(path, log);
    const out: LogEntry[] = [];
    for await (const entry of decodeLog(await PositionalReader.open(path), { payloadsInPlace: true })) out.push(entry);
    return out;
  }

  it('gives where each uncompressed payload lies, decodes the compressed one, zeros and trims, and checks the framing', async () => {
    const log = await encodeToBuffer(header({ virtualSize: 16 * 1024 * 1024 }), RECORDS, { recordHash: 'xxh128' });
    const entries = await entriesOf(log, 'v4.hvrlog');
    assert.equal(entries[0]?.kind, 'header');
    assert.equal(entries.at(-1)?.kind, 'trailer');
    const body = entries.slice(1, -1);
    assert.deepEqual(body.map((e) => e.kind), ['in-place', 'record', 'record', 'in-place', 'record']);
    for (const [i, entry] of body.entries()) {
      const want = RECORDS[i]!;
      if (entry.kind === 'in-place') {
        assert.ok(want.type === 'data');
        assert.deepEqual([entry.record.offset, entry.record.length], [want.offset, want.data.length]);
        assert.ok(log.subarray(entry.record.at, entry.record.at + entry.record.length).equals(want.data), `record ${i}: the payload lies where it says`);
      } else if (entry.kind === 'record') {
        assert.equal(entry.record.type, want.type);
        if (entry.record.type === 'data' && want.type === 'data') assert.ok(entry.record.data.equals(want.data), 'the compressed record decoded');
      }
    }
  });

  it('refuses a damaged record header, a truncated log and bytes after the trailer, as reading it whole does', async () => {
    const log = await encodeToBuffer(header({ virtualSize: 16 * 1024 * 1024 }), RECORDS, { recordHash: 'xxh128' });
    const headerLength = log.readUInt16LE(10);
    // The first record's stored checksum (after its 24-byte prefix): only the whole-log hash covers it here.
    const checksum = Buffer.from(log);
    checksum[headerLength + 24] ^= 0x01;
    await assert.rejects(entriesOf(checksum, 'checksum.hvrlog'), (e: unknown) => e instanceof LogFormatError && e.code === 'ERR_LOG_CHECKSUM');
    // Cut inside the last uncompressed payload, which is skipped, not read.
    await assert.rejects(entriesOf(log.subarray(0, log.length - 64 - 56 - 56 - 100), 'cut.hvrlog'), (e: unknown) => e instanceof LogFormatError && e.code === 'ERR_LOG_TRUNCATED');
    await assert.rejects(entriesOf(Buffer.concat([log, Buffer.alloc(1)]), 'long.hvrlog'), (e: unknown) => e instanceof LogFormatError && /after the trailer/.test(e.message));
  });

  it('reads and checks every payload of a version 1 log, whose whole-log hash covers them', async () => {
    const log = asVersion1(await encodeToBuffer(header({ virtualSize: 16 * 1024 * 1024 }), RECORDS));
    const entries = await entriesOf(log, 'v1.hvrlog');
    assert.deepEqual(entries.slice(1, -1).map((e) => e.kind), ['record', 'record', 'record', 'record', 'record']);
  });
});
