import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  AdaptiveCodecPolicy,
  brotliCodec,
  CodecId,
  decodeLog,
  deflateCodec,
  LogFormatError,
  LOG_FORMAT_VERSION,
  MAX_RECORD_BYTES,
  noneCodec,
  ProtocolArgumentError,
  verifyLog,
  type DecodedRecord,
  type LogEntry,
  type Codec,
} from '../../src/protocol/index.js';
import { asVersion1 } from '../helpers/log-version1.js';
import { chunked, DISK_ID, encodeToBuffer, header, sampleRecords, textLike, VM_ID } from './helpers.js';

async function collect(buf: Buffer, size?: number): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const entry of decodeLog(chunked(buf, size))) out.push(entry);
  return out;
}

async function decodeError(buf: Buffer): Promise<LogFormatError> {
  try {
    await collect(buf);
  } catch (error) {
    assert.ok(error instanceof LogFormatError, `expected LogFormatError, got ${String(error)}`);
    return error;
  }
  assert.fail('the decoder accepted a malformed log');
}

function records(entries: LogEntry[]): DecodedRecord[] {
  return entries.flatMap((e) => (e.kind === 'record' ? [e.record] : []));
}

describe('replication log round trip', () => {
  it('decodes exactly what was encoded, header, records and trailer', async () => {
    const input = sampleRecords();
    const log = await encodeToBuffer(header({ consistency: 'application' }), input);
    const entries = await collect(log, 1000);
    const first = entries[0];
    assert.ok(first?.kind === 'header');
    assert.deepEqual(first.header, { ...header({ consistency: 'application' }), formatVersion: 2, recordHash: 'sha256' });
    const got = records(entries);
    assert.equal(got.length, 5);
    assert.deepEqual(got[0]?.type === 'data' && got[0].data, (input[0] as { data: Buffer }).data);
    assert.equal(got[0]?.type === 'data' && got[0].codec, CodecId.Brotli, 'text compresses');
    assert.equal(got[1]?.type === 'data' && got[1].codec, CodecId.None, 'random bytes are stored raw');
    assert.deepEqual(got[1]?.type === 'data' && got[1].data, (input[1] as { data: Buffer }).data);
    assert.deepEqual(got[2], { type: 'zero', offset: 2 * 1024 * 1024, length: 8192 }, 'all-zero data becomes a zero record');
    assert.deepEqual(got[3], { type: 'zero', offset: 4 * 1024 * 1024, length: 1024 * 1024 });
    assert.deepEqual(got[4], { type: 'trim', offset: 8 * 1024 * 1024, length: 4096 });
    const last = entries.at(-1);
    assert.ok(last?.kind === 'trailer');
    assert.equal(last.trailer.recordCount, 5);
    assert.equal(last.trailer.dataBytes, 128 * 1024 + 64 * 1024);
    assert.equal(last.trailer.logBytes, log.length - 40);
  });

  it('reads a log delivered one byte at a time', async () => {
    const log = await encodeToBuffer(header(), [{ type: 'data', offset: 4096, data: textLike(4096) }]);
    const summary = await verifyLog(chunked(log, 1));
    assert.deepEqual(summary.records, { data: 1, zero: 0, trim: 0 });
    assert.equal(summary.header.sequence, 42);
  });

  it('splits extents larger than one record and keeps their content', async () => {
    const big = textLike(MAX_RECORD_BYTES + 8192, 7);
    const log = await encodeToBuffer(header(), [{ type: 'data', offset: 0, data: big }]);
    const got = records(await collect(log, 65536));
    assert.equal(got.length, 2);
    assert.deepEqual(got.map((r) => [r.offset, r.length]), [[0, MAX_RECORD_BYTES], [MAX_RECORD_BYTES, 8192]]);
    assert.deepEqual(Buffer.concat(got.map((r) => (r.type === 'data' ? r.data : Buffer.alloc(0)))), big);
  });

  it('hands an uncompressed record over in the chunks it arrived in, views of them and not a copy', async () => {
    const data = randomBytes(256 * 1024);
    const log = await encodeToBuffer(header(), [{ type: 'data', offset: 512, data }], { codecPolicy: new AdaptiveCodecPolicy(noneCodec) });
    const [record] = records(await collect(log, 16 * 1024));
    assert.ok(record?.type === 'data' && record.codec === CodecId.None);
    assert.ok(record.pieces.length > 1, 'the payload spans several chunks');
    assert.ok(record.pieces.every((piece) => piece.buffer === log.buffer), 'every piece is a view of the bytes received');
    assert.deepEqual(Buffer.concat(record.pieces), data);
    assert.deepEqual(record.data, data, 'joined when asked for one buffer');
  });

  for (const codec of [noneCodec, deflateCodec(1), brotliCodec(0), brotliCodec(4)]) {
    it(`round-trips with codec ${codec.name}`, async () => {
      const data = textLike(256 * 1024, 3);
      const log = await encodeToBuffer(header(), [{ type: 'data', offset: 512, data }], { codecPolicy: new AdaptiveCodecPolicy(codec) });
      const [record] = records(await collect(log));
      assert.ok(record?.type === 'data');
      assert.equal(record.codec, codec.id);
      assert.deepEqual(record.data, data);
    });
  }

  it('stops trying to compress after a run of incompressible records, then probes again', async () => {
    const policy = new AdaptiveCodecPolicy(brotliCodec(1), { giveUpAfter: 2, retryAfter: 3 });
    for (let i = 0; i < 6; i += 1) await policy.encode(randomBytes(4096));
    assert.deepEqual(policy.stats, { compressed: 0, stored: 3, skipped: 3 });
    const compressible = await policy.encode(textLike(4096));
    assert.equal(compressible.codec, CodecId.Brotli);
  });

  it('doubles the pause after each incompressible run, up to its cap, and starts again after a compressed record', async () => {
    const policy = new AdaptiveCodecPolicy(brotliCodec(1), { giveUpAfter: 1, retryAfter: 2, maxRetryAfter: 8 });
    const pattern = async (records: number) => {
      const tried: boolean[] = [];
      for (let i = 0; i < records; i += 1) {
        const skipped = policy.stats.skipped;
        await policy.encode(randomBytes(4096));
        tried.push(policy.stats.skipped === skipped);
      }
      return tried.map((t) => (t ? 'T' : '.')).join('');
    };
    // Probe, pause 2; probe, pause 4; probe, pause 8; probe, pause 8 (the cap).
    assert.equal(await pattern(1 + 2 + 1 + 4 + 1 + 8 + 1 + 8 + 1), 'T..T....T........T........T');
    assert.equal((await policy.encode(textLike(4096))).codec, CodecId.None, 'still pausing: the record is stored raw untried');
    // Once a probe finds compressible data, the pause is back to its start.
    const fresh = new AdaptiveCodecPolicy(brotliCodec(1), { giveUpAfter: 1, retryAfter: 2, maxRetryAfter: 8 });
    for (let i = 0; i < 1 + 2 + 1 + 4; i += 1) await fresh.encode(randomBytes(4096));
    assert.equal((await fresh.encode(textLike(4096))).codec, CodecId.Brotli);
    await fresh.encode(randomBytes(4096));
    const before = fresh.stats.skipped;
    for (let i = 0; i < 3; i += 1) await fresh.encode(randomBytes(4096));
    assert.equal(fresh.stats.skipped - before, 2, 'after a compressed record an incompressible run pauses for retryAfter again');
  });

  it('judges a large record by a sample: incompressible data costs a sample, not a whole compression', async () => {
    const inner = brotliCodec(1);
    const calls: number[] = [];
    const counting: Codec = { ...inner, compress: (data) => (calls.push(data.length), inner.compress(data)) };
    const policy = new AdaptiveCodecPolicy(counting, { sampleAbove: 128 * 1024, sampleSlices: 4, sliceBytes: 16 * 1024 });
    const noise = await policy.encode(randomBytes(1024 * 1024));
    assert.equal(noise.codec, CodecId.None);
    assert.deepEqual(calls, [64 * 1024], 'only the 4 × 16 KiB sample was compressed');
    calls.length = 0;
    const text = textLike(1024 * 1024, 5);
    const compressed = await policy.encode(text);
    assert.equal(compressed.codec, CodecId.Brotli);
    assert.deepEqual(calls, [64 * 1024, 1024 * 1024], 'a sample that compresses lets the whole record be compressed');
    assert.deepEqual(await inner.decompress(compressed.stored, text.length), text);
    calls.length = 0;
    await policy.encode(textLike(64 * 1024, 6));
    assert.deepEqual(calls, [64 * 1024], 'a record below the threshold is compressed whole, unsampled');
    assert.deepEqual(policy.stats, { compressed: 2, stored: 1, skipped: 0 });
  });

  it('samples the end of a record too: noise with a compressible tail is found compressible', async () => {
    const policy = new AdaptiveCodecPolicy(brotliCodec(1));
    const record = Buffer.concat([randomBytes(512 * 1024), Buffer.alloc(512 * 1024, 7)]);
    assert.equal((await policy.encode(record)).codec, CodecId.Brotli);
  });

  it('refuses sampling settings that cannot work', () => {
    assert.throws(() => new AdaptiveCodecPolicy(brotliCodec(1), { sampleAbove: 1024, sampleSlices: 4, sliceBytes: 1024 }), /sampleAbove of at least their product/);
  });

  it('refuses bad input to the encoder with a clear error', async () => {
    await assert.rejects(encodeToBuffer(header({ vmId: 'not-a-guid' }), []), ProtocolArgumentError);
    await assert.rejects(encodeToBuffer(header(), [{ type: 'data', offset: 100, data: Buffer.alloc(512, 1) }]), /not aligned/);
    await assert.rejects(encodeToBuffer(header({ virtualSize: 4096 }), [{ type: 'zero', offset: 0, length: 8192 }]), /beyond the disk/);
    await assert.rejects(encodeToBuffer(header({ logicalSectorSize: 1000 }), []), /512 or 4096/);
  });

  it('keeps GUIDs in the Microsoft byte layout', async () => {
    const log = await encodeToBuffer(header(), []);
    // Data1 of 5d1e4c2a little-endian sits right after the fixed prefix.
    assert.deepEqual([...log.subarray(16, 20)], [0x2a, 0x4c, 0x1e, 0x5d]);
    const [first] = await collect(log);
    assert.ok(first?.kind === 'header');
    assert.equal(first.header.vmId, VM_ID);
    assert.equal(first.header.diskId, DISK_ID);
  });
});

describe('replication log decoder refuses malformed input', () => {
  it('bad magic', async () => {
    const log = await encodeToBuffer();
    log[1] = 0x41;
    assert.equal((await decodeError(log)).code, 'ERR_LOG_BAD_MAGIC');
    assert.equal((await decodeError(Buffer.from('PK\x03\x04 this is a zip file, not a log'))).code, 'ERR_LOG_BAD_MAGIC');
  });

  it('unknown version, telling the user to upgrade', async () => {
    const log = await encodeToBuffer();
    log.writeUInt16LE(LOG_FORMAT_VERSION + 1, 8);
    const error = await decodeError(log);
    assert.equal(error.code, 'ERR_LOG_UNKNOWN_VERSION');
    assert.match(error.message, /upgrade hvreplica/);
  });

  it('reads a version 1 log (an earlier build\'s, waiting on a replica to be applied), whose whole-log hash covers every byte', async () => {
    // Incompressible first, so that its payload is stored raw and can be forged below.
    const input = [{ type: 'data' as const, offset: 0, data: randomBytes(64 * 1024) }, ...sampleRecords().slice(1)];
    const v1 = asVersion1(await encodeToBuffer(header(), input));
    const entries = await collect(v1, 1000);
    assert.equal((entries[0] as { header: { formatVersion: number } }).header.formatVersion, 1);
    assert.equal(records(entries).length, records(await collect(await encodeToBuffer(header(), input))).length);
    assert.equal((await verifyLog(chunked(v1))).trailer.recordCount, records(entries).length);
    // A payload byte changed and its record hash recomputed: only version 1's whole-log hash can tell.
    const forged = Buffer.from(v1);
    const first = 12 + forged.readUInt16LE(10) - 12;
    const headerEnd = first + 56;
    const stored = forged.readUInt32LE(first + 4);
    assert.ok(stored > 0 && forged.readUInt8(first) === 1 && forged.readUInt8(first + 1) === 0, 'the first record stores raw data');
    forged[headerEnd] ^= 0x01;
    createHash('sha256').update(forged.subarray(first, first + 24)).update(forged.subarray(headerEnd, headerEnd + stored)).digest().copy(forged, first + 24);
    assert.equal((await decodeError(forged)).code, 'ERR_LOG_CHECKSUM');
  });

  it('a flipped bit anywhere is detected', async () => {
    const log = await encodeToBuffer();
    // Every 97th byte is a sample across header, record headers, payloads and trailer.
    for (let at = 12; at < log.length - 8; at += 97) {
      for (const bit of [0, 5]) {
        const copy = Buffer.from(log);
        copy[at] = copy[at]! ^ (1 << bit);
        const error = await decodeError(copy);
        assert.ok(['ERR_LOG_CHECKSUM', 'ERR_LOG_MALFORMED', 'ERR_LOG_OVERSIZED', 'ERR_LOG_TRUNCATED'].includes(error.code), `byte ${at}: ${error.code}`);
      }
    }
  });

  it('a flipped bit in a data payload is a checksum mismatch', async () => {
    const data = randomBytes(4096);
    const log = await encodeToBuffer(header(), [{ type: 'data', offset: 0, data }]);
    const at = log.indexOf(data.subarray(0, 32));
    log[at + 100] = log[at + 100]! ^ 0x10;
    const error = await decodeError(log);
    assert.equal(error.code, 'ERR_LOG_CHECKSUM');
    assert.match(error.message, /record checksum mismatch/);
  });

  it('truncation at any point', async () => {
    const log = await encodeToBuffer();
    for (const cut of [0, 5, 11, 40, 130, 200, 1000, log.length - 65, log.length - 30, log.length - 1]) {
      assert.equal((await decodeError(log.subarray(0, cut))).code, 'ERR_LOG_TRUNCATED', `cut at ${cut}`);
    }
  });

  it('oversized record', async () => {
    const log = await encodeToBuffer(header(), [{ type: 'data', offset: 0, data: randomBytes(4096) }]);
    const recordAt = log.readUInt16LE(10);
    log.writeBigUInt64LE(BigInt(MAX_RECORD_BYTES + 512), recordAt + 16);
    assert.equal((await decodeError(log)).code, 'ERR_LOG_OVERSIZED');
  });

  it('a record outside the disk', async () => {
    const log = await encodeToBuffer(header(), [{ type: 'zero', offset: 0, length: 4096 }]);
    const recordAt = log.readUInt16LE(10);
    log.writeBigUInt64LE(BigInt(64 * 1024 * 1024), recordAt + 8);
    assert.equal((await decodeError(log)).code, 'ERR_LOG_MALFORMED');
  });

  it('bytes after the trailer', async () => {
    const log = await encodeToBuffer();
    assert.equal((await decodeError(Buffer.concat([log, Buffer.from([0])]))).code, 'ERR_LOG_MALFORMED');
  });

  it('without the whole-log hash (applying a log verified earlier) a damaged payload still fails its record checksum', async () => {
    const data = randomBytes(4096);
    const log = await encodeToBuffer(header(), [{ type: 'data', offset: 0, data }]);
    const intact: LogEntry[] = [];
    for await (const entry of decodeLog([log], { verifyLogHash: false })) intact.push(entry);
    assert.deepEqual(records(intact).map((r) => r.type), ['data']);
    // A forged trailer hash is what the option does not check…
    const forged = Buffer.from(log);
    forged[forged.length - 20] = forged[forged.length - 20]! ^ 1;
    for await (const entry of decodeLog([forged], { verifyLogHash: false })) void entry;
    // …a damaged record is still refused.
    const damaged = Buffer.from(log);
    const at = damaged.indexOf(data.subarray(0, 32));
    damaged[at + 10] = damaged[at + 10]! ^ 0x01;
    await assert.rejects(
      (async () => {
        for await (const entry of decodeLog([damaged], { verifyLogHash: false })) void entry;
      })(),
      (error: unknown) => error instanceof LogFormatError && error.code === 'ERR_LOG_CHECKSUM',
    );
  });

  it('forged trailer counts fail the whole-log hash', async () => {
    const log = await encodeToBuffer();
    log.writeBigUInt64LE(99n, log.length - 64);
    assert.equal((await decodeError(log)).code, 'ERR_LOG_CHECKSUM');
  });

  it('records moved, dropped or repeated (whole, with consistent counts) fail the whole-log hash', async () => {
    const input = [0, 1, 2].map((n) => ({ type: 'data' as const, offset: n * 8192, data: randomBytes(4096) }));
    const log = await encodeToBuffer(header(), input);
    const { head, parts, end } = splitLog(log);
    assert.equal(parts.length, 3);
    const rebuilt = (list: Buffer[]) => withCounts(Buffer.concat([head, ...list, end]), list.length, list.length * 4096);
    assert.equal(records(await collect(rebuilt(parts))).length, 3, 'the split reassembles the intact log');
    const forged = {
      moved: rebuilt([parts[1]!, parts[0]!, parts[2]!]),
      dropped: rebuilt([parts[0]!, parts[2]!]),
      repeated: rebuilt([parts[0]!, parts[1]!, parts[1]!, parts[2]!]),
    };
    for (const [what, bytes] of Object.entries(forged)) {
      const error = await decodeError(bytes);
      assert.equal(error.code, 'ERR_LOG_CHECKSUM', what);
      assert.match(error.message, /whole-log hash mismatch/, what);
    }
  });

  it('payloads swapped between records of the same size fail their record hashes', async () => {
    const input = [0, 1].map((n) => ({ type: 'data' as const, offset: n * 8192, data: randomBytes(4096) }));
    const log = await encodeToBuffer(header(), input);
    const { head, parts, end } = splitLog(log);
    const swap = (a: Buffer, b: Buffer) => Buffer.concat([a.subarray(0, 56), b.subarray(56)]);
    const error = await decodeError(Buffer.concat([head, swap(parts[0]!, parts[1]!), swap(parts[1]!, parts[0]!), end]));
    assert.equal(error.code, 'ERR_LOG_CHECKSUM');
    assert.match(error.message, /record checksum mismatch/);
  });

  it('the whole-log hash covers every byte before it except the stored payloads', async () => {
    const log = await encodeToBuffer();
    const { head, parts, end } = splitLog(log);
    const framing = Buffer.concat([head, ...parts.map((p) => p.subarray(0, 56)), end.subarray(0, end.length - 40)]);
    assert.equal(createHash('sha256').update(framing).digest('hex'), log.subarray(log.length - 40, log.length - 8).toString('hex'));
  });
});

/** A log cut into its header, its records (header and stored payload each) and the end record with the trailer. */
function splitLog(log: Buffer): { head: Buffer; parts: Buffer[]; end: Buffer } {
  const headerLength = log.readUInt16LE(10);
  const parts: Buffer[] = [];
  let at = headerLength;
  while (log[at] !== 4) {
    const size = 56 + log.readUInt32LE(at + 4);
    parts.push(log.subarray(at, at + size));
    at += size;
  }
  return { head: log.subarray(0, headerLength), parts, end: log.subarray(at) };
}

/** Rewrites the trailer counts to match the records, so that only the hashes can tell. */
function withCounts(log: Buffer, recordCount: number, dataBytes: number): Buffer {
  const out = Buffer.from(log);
  out.writeBigUInt64LE(BigInt(recordCount), out.length - 64);
  out.writeBigUInt64LE(BigInt(dataBytes), out.length - 56);
  out.writeBigUInt64LE(BigInt(out.length - 40), out.length - 48);
  return out;
}

