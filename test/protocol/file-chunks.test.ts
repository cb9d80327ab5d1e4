/**
 * A stored log read through FileChunks (src/protocol/file-chunks.ts): the decoder gets the same entries as
 * from the log's bytes, and where it passes over payloads (a framing-only read, a hollow log's holes) they
 * are seeked over, not read; what would be wrong with the log is still found, and the file is closed however
 * the read ends.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeLog, type LogEntry, type LogRecordInput } from '../../src/protocol/index.js';
import { FileChunks } from '../../src/protocol/file-chunks.js';
import { tempDir } from '../helpers/paths.js';
import { encodeToBuffer, header, sampleRecords } from './helpers.js';

const MiB = 1024 * 1024;

/** FileChunks that counts the bytes it reads and says whether it closed its file. */
class CountingChunks extends FileChunks {
  bytesRead = 0;
  closed = false;
  override async next(): Promise<IteratorResult<Buffer, undefined>> {
    const result = await super.next();
    if (!result.done) this.bytesRead += result.value.length;
    return result;
  }
  override async return(): Promise<IteratorResult<Buffer, undefined>> {
    this.closed = true;
    return super.return();
  }
}

/** Every entry as plain data (a record's payload joined), to compare two decodes. */
async function entries(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, handledBefore?: number): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const entry of decodeLog(source, handledBefore === undefined ? {} : { handledBefore })) out.push(plain(entry));
  return out;
}

function plain(entry: LogEntry): unknown {
  if (entry.kind !== 'record') return entry;
  const record = entry.record;
  return 'pieces' in record ? { type: record.type, offset: record.offset, length: record.length, data: Buffer.concat(record.pieces).toString('hex') } : record;
}

/** A log of 1 MiB incompressible records, as a full copy's. */
function fullCopy(records: number): LogRecordInput[] {
  return Array.from({ length: records }, (_, i) => ({ type: 'data' as const, offset: i * MiB, data: randomBytes(MiB) }));
}

async function withLog(log: Buffer, body: (path: string) => Promise<void>): Promise<void> {
  const dir = tempDir('file-chunks');
  try {
    const path = join(dir.path, 'log.hvrlog');
    await writeFile(path, log);
    await body(path);
  } finally {
    dir.cleanup();
  }
}

async function decodeError(source: AsyncIterable<Uint8Array>, handledBefore?: number): Promise<{ code?: string }> {
  try {
    await entries(source, handledBefore);
  } catch (error) {
    return error as { code?: string };
  }
  assert.fail('the log was accepted');
}

describe('logs read from a file through FileChunks', () => {
  it('decode exactly as from their bytes, whatever the chunk size', async () => {
    const log = await encodeToBuffer(header(), sampleRecords(), { recordHash: 'xxh128' });
    const expected = await entries([log]);
    await withLog(log, async (path) => {
      for (const chunk of [13, 777, 64 * 1024, 4 * MiB]) {
        const source = new CountingChunks(path, chunk);
        assert.deepEqual(await entries(source), expected, `chunks of ${chunk} bytes`);
        assert.equal(source.bytesRead, log.length, 'every byte read once');
        assert.equal(source.closed, true, 'the file is closed at the end');
      }
    });
  });

  it('pass over the payloads unread in a framing-only read, with the same framing, hash and counts checked', async () => {
    const log = await encodeToBuffer(header(), fullCopy(16), { recordHash: 'xxh128' });
    const expected = await entries([log], Number.MAX_SAFE_INTEGER);
    await withLog(log, async (path) => {
      const source = new CountingChunks(path, 64 * 1024);
      assert.deepEqual(await entries(source, Number.MAX_SAFE_INTEGER), expected);
      // One chunk per record header at most: a sixteenth of each 1 MiB payload, not the payload.
      assert.ok(source.bytesRead <= 17 * 64 * 1024, `${source.bytesRead} bytes read of ${log.length}`);
      assert.equal(source.closed, true);
    });
  });

  it('still find damaged framing and a log cut short inside a payload passed over, and close the file', async () => {
    const log = await encodeToBuffer(header(), fullCopy(4), { recordHash: 'xxh128' });
    const layouts: Array<{ at: number; payloadAt: number; end: number }> = [];
    for await (const entry of decodeLog([log], { onRecordHeader: (layout) => layouts.push(layout) })) void entry;
    // A bit of the third record's header (its checksum field, which only the whole-log hash covers in this read).
    const damaged = Buffer.from(log);
    damaged[layouts[2]!.payloadAt - 3]! ^= 0x01;
    await withLog(damaged, async (path) => {
      const source = new CountingChunks(path, 64 * 1024);
      assert.equal((await decodeError(source, Number.MAX_SAFE_INTEGER)).code, 'ERR_LOG_CHECKSUM');
      assert.equal(source.closed, true);
    });
    // Cut in the middle of the second payload, then just after the last one.
    for (const cut of [layouts[1]!.payloadAt + MiB / 2, layouts[3]!.end]) {
      await withLog(log.subarray(0, cut), async (path) => {
        const source = new CountingChunks(path, 64 * 1024);
        assert.equal((await decodeError(source, Number.MAX_SAFE_INTEGER)).code, 'ERR_LOG_TRUNCATED', `cut at ${cut}`);
        assert.equal(source.closed, true, `the file is closed after the cut at ${cut}`);
      });
    }
  });

  it('say what is wrong with a file that cannot be opened', async () => {
    const dir = tempDir('file-chunks');
    try {
      await assert.rejects(entries(new FileChunks(join(dir.path, 'gone.hvrlog'), 64 * 1024)), { code: 'ENOENT' });
    } finally {
      dir.cleanup();
    }
  });
});
