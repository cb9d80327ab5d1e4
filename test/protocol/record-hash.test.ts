/**
 * The record checksum of replication logs (src/protocol/record-hash.ts): SHA-256 logs stay byte for byte what
 * version 2 builds wrote; BLAKE3 logs are version 3, name their algorithm, carry BLAKE3(prefix ‖ BLAKE3(payload));
 * XXH3-128 logs are version 4, carry XXH3-128(prefix ‖ XXH3-128(payload)) and 16 zero bytes (vectors computed with
 * xxHash's own `xxhsum -H2`); all are verified like any log; which one a primary writes follows what both sides offer.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { blake3, blake3Paths, blake3Pieces } from '../../src/native/blake3.js';
import { xxh128, xxh128Pieces } from '../../src/native/xxh128.js';
import {
  AdaptiveCodecPolicy,
  agreedRecordHash,
  decodeLog,
  LogFormatError,
  noneCodec,
  recordChecksum,
  recordChecksumOfPayloadDigest,
  recordHashesWorthUsingHere,
  verifyLog,
  type LogRecordInput,
  type NestedRecordHash,
} from '../../src/protocol/index.js';
import { chunked, encodeToBuffer, header, sampleRecords } from './helpers.js';

const RECORD_HEADER = 56;

/** A deterministic byte pattern (no randomness: the golden log below must not change from run to run). */
function pattern(length: number, seed: number): Buffer {
  const buf = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) buf[i] = (i * 31 + seed * 7 + (i >> 9)) & 0xff;
  return buf;
}

function goldenRecords(): LogRecordInput[] {
  return [
    { type: 'data', offset: 0, data: pattern(256 * 1024, 1) },
    { type: 'data', offset: 1024 * 1024, data: pattern(4096, 2) },
    { type: 'zero', offset: 2 * 1024 * 1024, length: 65536 },
    { type: 'data', offset: 3 * 1024 * 1024, data: Buffer.alloc(8192) },
    { type: 'trim', offset: 4 * 1024 * 1024, length: 4096 },
  ];
}

const uncompressed = () => ({ codecPolicy: new AdaptiveCodecPolicy(noneCodec) });

/** The records of an uncompressed log as laid out in its bytes: the 24-byte prefix, the checksum, the payload. */
function recordsOf(log: Buffer): { prefix: Buffer; checksum: Buffer; payload: Buffer }[] {
  const out = [];
  let at = log.readUInt16LE(10);
  for (;;) {
    const prefix = log.subarray(at, at + 24);
    const stored = prefix.readUInt32LE(4);
    out.push({ prefix, checksum: log.subarray(at + 24, at + RECORD_HEADER), payload: log.subarray(at + RECORD_HEADER, at + RECORD_HEADER + stored) });
    if (prefix.readUInt8(0) === 4) return out;
    at += RECORD_HEADER + stored;
  }
}

/** `log` with its header byte `at` set to `value` and the header CRC made right again. */
function withHeaderByte(log: Buffer, at: number, value: number): Buffer {
  const out = Buffer.from(log);
  out[at] = value;
  const length = out.readUInt16LE(10);
  out.writeUInt32LE(crc32(out.subarray(0, length - 4)), length - 4);
  return out;
}

async function decodeError(log: Buffer): Promise<LogFormatError> {
  try {
    for await (const entry of decodeLog(chunked(log, 4096))) void entry;
  } catch (error) {
    assert.ok(error instanceof LogFormatError, `expected LogFormatError, got ${String(error)}`);
    return error;
  }
  assert.fail('the decoder accepted a damaged log');
}

describe('log record checksums', () => {
  it('writes SHA-256 logs byte for byte as builds before format version 3 wrote them', async () => {
    const log = await encodeToBuffer(header(), goldenRecords(), uncompressed());
    // Computed with the build of c5c5103 (format version 2 only) from the same input.
    assert.equal(log.length, 266743);
    assert.equal(createHash('sha256').update(log).digest('hex'), 'e7c318ba05fce50d228e83f984746a4a9c5b518b76914ddd37b420bc19b2d360');
    assert.equal(log.readUInt16LE(8), 2, 'version 2');
    assert.equal(log.readUInt8(13), 0, 'no algorithm byte: older readers refuse anything but zero there');
  });

  it('writes BLAKE3 logs as version 3 naming BLAKE3, each checksum BLAKE3(prefix ‖ BLAKE3(payload))', async () => {
    // 256 KiB is hashed off the main thread, 4 KiB and 8 KiB on it: both must give the same construction.
    const log = await encodeToBuffer(header(), goldenRecords(), { ...uncompressed(), recordHash: 'blake3' });
    assert.equal(log.readUInt16LE(8), 3);
    assert.equal(log.readUInt8(13), 3, 'the algorithm byte says BLAKE3');
    const records = recordsOf(log);
    assert.equal(records.length, 6, 'three data records (the zeros became a zero record), a zero, a trim and the end record');
    for (const { prefix, checksum, payload } of records) {
      // Computed here with the portable code, independently of the SIMD path the encoder took.
      const expected = payload.length > 0 ? blake3(Buffer.concat([prefix, blake3(payload, 'portable')]), 'portable') : blake3(prefix, 'portable');
      assert.ok(checksum.equals(expected), `record of type ${prefix.readUInt8(0)} at ${prefix.readBigUInt64LE(8)}`);
    }
    const summary = await verifyLog(chunked(log, 1000));
    assert.equal(summary.header.formatVersion, 3);
    assert.equal(summary.header.recordHash, 'blake3');
    assert.deepEqual(summary.records, { data: 2, zero: 2, trim: 1 });
  });

  it('hashes a payload held in pieces as the same bytes in one buffer, on every path, without joining them in JS', async () => {
    const whole = randomBytes(1024 * 1024 + 333);
    const pieces = [whole.subarray(0, 16384), whole.subarray(16384, 16384), whole.subarray(16384, 700001), whole.subarray(700001)];
    for (const path of blake3Paths()) assert.deepEqual(await blake3Pieces(pieces, path), blake3(whole, path), path);
    assert.deepEqual(await blake3Pieces([whole]), blake3(whole));
    assert.deepEqual(await blake3Pieces([]), blake3(Buffer.alloc(0)));
    for (const algorithm of ['sha256', 'blake3'] as const) {
      const prefix = randomBytes(24);
      assert.deepEqual(await recordChecksum(algorithm, prefix, pieces), await recordChecksum(algorithm, prefix, [whole]), algorithm);
    }
    assert.throws(() => (blake3Pieces as (value: unknown) => unknown)('not an array'), TypeError);
  });

  for (const algorithm of ['blake3', 'xxh128'] as const) {
    const nested = { recordHash: algorithm };
    /** The digest a read gives with its data, by this algorithm (XXH3-128: in a 32-byte slot, as reads give it). */
    const payloadDigestOf = (data: Buffer) => (algorithm === 'blake3' ? blake3(data) : Buffer.concat([xxh128(data), Buffer.alloc(16)]));

    it(`decodes a ${algorithm} log to exactly what was encoded, compressed records too`, async () => {
      const input = sampleRecords();
      const entries = [];
      for await (const entry of decodeLog(chunked(await encodeToBuffer(header(), input, nested), 777))) entries.push(entry);
      const data = entries.flatMap((e) => (e.kind === 'record' && e.record.type === 'data' ? [e.record.data] : []));
      assert.deepEqual(data, [(input[0] as { data: Buffer }).data, (input[1] as { data: Buffer }).data]);
      assert.equal(entries.at(-1)?.kind, 'trailer');
    });

    it(`refuses a ${algorithm} log with a flipped bit in a payload, a record header or a checksum, with a clear error`, async () => {
      // 768 KiB is hashed off the main thread by either algorithm, 4 KiB on it.
      const log = await encodeToBuffer(header(), [{ type: 'data', offset: 0, data: randomBytes(768 * 1024) }, { type: 'data', offset: 1024 * 1024, data: randomBytes(4096) }], {
        ...uncompressed(),
        ...nested,
      });
      const [first, second] = recordsOf(log);
      const firstAt = log.readUInt16LE(10);
      const secondAt = firstAt + RECORD_HEADER + first!.payload.length;
      for (const [what, at] of [
        ['large payload', firstAt + RECORD_HEADER + 700_000],
        ['small payload', secondAt + RECORD_HEADER + 17],
        ['record offset', firstAt + 9],
        ['checksum', secondAt + 30],
        // XXH3-128: one of the 16 bytes after the digest, which must stay zero.
        ['checksum tail', secondAt + 24 + 31],
      ] as const) {
        const damaged = Buffer.from(log);
        damaged[at] = damaged[at]! ^ 0x04;
        const error = await decodeError(damaged);
        assert.equal(error.code, 'ERR_LOG_CHECKSUM', what);
        assert.match(error.message, /record checksum mismatch: the log is corrupt; send it again/, what);
        assert.equal(error.position, what.startsWith('small') || what.startsWith('checksum') ? secondAt : firstAt, `${what}: the error names the damaged record`);
      }
      assert.equal(second!.payload.length, 4096);
    });

    it(`takes a payload digest given with a record for a ${algorithm} log: the same bytes, and a wrong one is refused by the reader`, async () => {
      const withDigests = (records: LogRecordInput[], digestOf: (data: Buffer) => Buffer, given: NestedRecordHash = algorithm): LogRecordInput[] =>
        records.map((r) => (r.type === 'data' ? { ...r, payloadDigest: { algorithm: given, digest: digestOf(r.data) } } : r));
      const plain = await encodeToBuffer(header(), goldenRecords(), nested);
      assert.deepEqual(await encodeToBuffer(header(), withDigests(goldenRecords(), payloadDigestOf), nested), plain, 'a right digest gives the log hashing gives');
      // A SHA-256 log, a log of the other algorithm and a record split into several have no use for it: a wrong one changes nothing there.
      const wrong = (data: Buffer) => payloadDigestOf(Buffer.concat([data, Buffer.from('x')]));
      assert.deepEqual(await encodeToBuffer(header(), withDigests(goldenRecords(), wrong)), await encodeToBuffer(header(), goldenRecords()), 'SHA-256 logs ignore it');
      const other = algorithm === 'blake3' ? 'xxh128' : 'blake3';
      assert.deepEqual(await encodeToBuffer(header(), withDigests(goldenRecords(), wrong), { recordHash: other }), await encodeToBuffer(header(), goldenRecords(), { recordHash: other }), `${other} logs ignore it`);
      assert.deepEqual(await encodeToBuffer(header(), withDigests(goldenRecords(), wrong, other), nested), plain, `a ${other} digest is not taken for a ${algorithm} log`);
      const split = { ...nested, maxRecordBytes: 64 * 1024 };
      const wrongWhenSplit = (data: Buffer) => (data.length > split.maxRecordBytes ? wrong(data) : payloadDigestOf(data));
      assert.deepEqual(await encodeToBuffer(header(), withDigests(goldenRecords(), wrongWhenSplit), split), await encodeToBuffer(header(), goldenRecords(), split), 'split records are hashed');
      // A wrong digest where it is used: the log is refused, not taken.
      const bad = await encodeToBuffer(header(), withDigests(goldenRecords(), wrong), nested);
      assert.equal((await decodeError(bad)).code, 'ERR_LOG_CHECKSUM');
    });
  }

  it('refuses an algorithm it does not know, and a non-zero algorithm byte in a version 2 log', async () => {
    const v3 = await encodeToBuffer(header(), goldenRecords(), { recordHash: 'blake3' });
    const unknown = await decodeError(withHeaderByte(v3, 13, 9));
    assert.equal(unknown.code, 'ERR_LOG_MALFORMED');
    assert.match(unknown.message, /unknown record hash algorithm 9.*newer hvreplica/);
    const v2 = await encodeToBuffer(header(), goldenRecords());
    const reserved = await decodeError(withHeaderByte(v2, 13, 3));
    assert.equal(reserved.code, 'ERR_LOG_MALFORMED');
    assert.match(reserved.message, /reserved header bytes/);
  });

  it('refuses a version 2 log relabelled as version 3 BLAKE3 (its checksums are SHA-256)', async () => {
    const v2 = await encodeToBuffer(header(), goldenRecords());
    const relabelled = withHeaderByte(withHeaderByte(v2, 8, 3), 13, 3);
    assert.equal((await decodeError(relabelled)).code, 'ERR_LOG_CHECKSUM');
  });
});

describe('choosing the record checksum', () => {
  it('takes BLAKE3 only when the replica lists it and this host computes it fast', () => {
    assert.equal(agreedRecordHash(undefined, ['sha256', 'blake3']), 'sha256', 'a server before protocol 4 lists nothing: SHA-256');
    assert.equal(agreedRecordHash(['sha256'], ['sha256', 'blake3']), 'sha256');
    assert.equal(agreedRecordHash(['sha256', 'blake3'], ['sha256']), 'sha256', 'no SIMD BLAKE3 here');
    assert.equal(agreedRecordHash(['blake3', 'sha256'], ['sha256', 'blake3']), 'blake3');
    assert.equal(agreedRecordHash(['blake3', 'md5'], ['sha256', 'blake3']), 'blake3', 'names it does not know are passed over');
  });

  it('prefers XXH3-128 when both list it, and never writes it for a replica that does not (protocol 4–5 servers)', () => {
    const current = ['sha256', 'blake3', 'xxh128'] as const;
    assert.equal(agreedRecordHash(['sha256', 'blake3', 'xxh128'], current), 'xxh128');
    assert.equal(agreedRecordHash(['xxh128', 'blake3', 'sha256'], current), 'xxh128', 'whatever the order the server lists them in');
    assert.equal(agreedRecordHash(['sha256', 'xxh128'], ['sha256', 'xxh128']), 'xxh128', 'a primary without SIMD BLAKE3');
    assert.equal(agreedRecordHash(['sha256', 'blake3'], current), 'blake3', 'a protocol 4–5 server: BLAKE3 as before');
    assert.equal(agreedRecordHash(['sha256'], current), 'sha256');
    assert.equal(agreedRecordHash(undefined, current), 'sha256');
    // A primary before protocol 6 knows BLAKE3 only: against a current server it still agrees on BLAKE3.
    assert.equal(agreedRecordHash(['sha256', 'blake3', 'xxh128'], ['sha256', 'blake3']), 'blake3');
  });

  it('offers SHA-256 and XXH3-128 everywhere and BLAKE3 exactly where the addon has a SIMD path', () => {
    const simd = blake3Paths().some((path) => path !== 'portable');
    assert.deepEqual(recordHashesWorthUsingHere(), simd ? ['sha256', 'blake3', 'xxh128'] : ['sha256', 'xxh128']);
  });
});

describe('XXH3-128 record checksums (format version 4)', () => {
  /** `hex` (an XXH3-128 digest) as the 32-byte checksum field holds it. */
  const field = (hex: string) => Buffer.concat([Buffer.from(hex, 'hex'), Buffer.alloc(16)]);
  const dataPrefix = (storedLength: number, offset: number, length: number) => {
    const prefix = Buffer.alloc(24);
    prefix.writeUInt8(1, 0);
    prefix.writeUInt32LE(storedLength, 4);
    prefix.writeBigUInt64LE(BigInt(offset), 8);
    prefix.writeBigUInt64LE(BigInt(length), 16);
    return prefix;
  };

  it('computes XXH3-128(prefix ‖ XXH3-128(payload)) then 16 zero bytes: vectors from xxhsum -H2', async () => {
    // Each expected digest printed by xxHash 0.8.1's `xxhsum -H2` for the same bytes in a file (the outer one for
    // the 24-byte prefix followed by the 16 bytes of the inner one).
    const small = Buffer.alloc(4096);
    for (let i = 0; i < small.length; i += 1) small[i] = (i * 31 + 7) & 0xff;
    assert.equal(xxh128(small).toString('hex'), '49d3842b33d51e8aa3c19f8174cde0bb');
    const smallPrefix = dataPrefix(4096, 1024 * 1024, 4096);
    assert.equal(smallPrefix.toString('hex'), '010000000010000000001000000000000010000000000000');
    assert.deepEqual(await recordChecksum('xxh128', smallPrefix, [small]), field('14c51d8689568103ea3f40c3d2287ed0'));
    // 1 MiB: hashed off the main thread, in pieces as a record arrives.
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i += 1) big[i] = (i * 31 + 7 + (i >> 9)) & 0xff;
    const bigPrefix = dataPrefix(big.length, 0, big.length);
    const expected = field('a7f9ee510483121e5e84dc4e765c3d3b');
    assert.deepEqual(await recordChecksum('xxh128', bigPrefix, [big]), expected);
    assert.deepEqual(await recordChecksum('xxh128', bigPrefix, [big.subarray(0, 16384), big.subarray(16384, 16384), big.subarray(16384, 600_001), big.subarray(600_001)]), expected);
    assert.deepEqual(recordChecksumOfPayloadDigest(bigPrefix, { algorithm: 'xxh128', digest: Buffer.from('a013c0b4dbe9480f9f2798355796b7f0', 'hex') }), expected);
    // The end record: XXH3-128 of its 24 zero-but-type bytes alone.
    const end = Buffer.alloc(24);
    end.writeUInt8(4, 0);
    assert.deepEqual(await recordChecksum('xxh128', end), field('d465f02931fea8eb2de692ec2ff922b6'));
  });

  it('streams a payload held in pieces to the digest of the same bytes in one buffer, nothing joined', async () => {
    const whole = randomBytes(1024 * 1024 + 333);
    for (const cuts of [[0], [16384, 16384, 700_001], [1, 2, 3, 240, 241, 1024 * 1024], Array.from({ length: 64 }, (_, i) => i * 16411)]) {
      const bounds = [0, ...cuts, whole.length];
      const pieces = bounds.slice(1).map((end, i) => whole.subarray(bounds[i], end));
      assert.deepEqual(await xxh128Pieces(pieces), xxh128(whole), `cut at ${cuts.slice(0, 4).join(', ')}…`);
    }
    assert.deepEqual(await xxh128Pieces([]), xxh128(Buffer.alloc(0)));
    assert.throws(() => (xxh128Pieces as (value: unknown) => unknown)('not an array'), TypeError);
  });

  it('writes XXH3-128 logs as version 4 naming XXH3-128, verified like any log', async () => {
    const log = await encodeToBuffer(header(), goldenRecords(), { ...uncompressed(), recordHash: 'xxh128' });
    assert.equal(log.readUInt16LE(8), 4);
    assert.equal(log.readUInt8(13), 4, 'the algorithm byte says XXH3-128');
    // Frozen: a change of the format must be a new version, not a change of these bytes.
    assert.equal(createHash('sha256').update(log).digest('hex'), '3b9bed9f9b6fa236c667f14f98a3765863d3049d73b24adec4978f06ea5be1aa');
    const records = recordsOf(log);
    assert.equal(records.length, 6);
    for (const { prefix, checksum, payload } of records) {
      const digest = payload.length > 0 ? xxh128(Buffer.concat([prefix, xxh128(payload)])) : xxh128(prefix);
      assert.deepEqual(checksum, Buffer.concat([digest, Buffer.alloc(16)]), `record of type ${prefix.readUInt8(0)} at ${prefix.readBigUInt64LE(8)}`);
    }
    const summary = await verifyLog(chunked(log, 1000));
    assert.deepEqual([summary.header.formatVersion, summary.header.recordHash], [4, 'xxh128']);
    assert.deepEqual(summary.records, { data: 2, zero: 2, trim: 1 });
    // BLAKE3 and SHA-256 logs stay what earlier builds wrote: versions 3 and 2.
    assert.equal((await encodeToBuffer(header(), goldenRecords(), { recordHash: 'blake3' })).readUInt16LE(8), 3);
    assert.equal((await encodeToBuffer(header(), goldenRecords())).readUInt16LE(8), 2);
  });

  it('refuses a version 3 header naming XXH3-128 (no writer makes one) and logs relabelled to another algorithm', async () => {
    const v4 = await encodeToBuffer(header(), goldenRecords(), { recordHash: 'xxh128' });
    const asV3 = await decodeError(withHeaderByte(v4, 8, 3));
    assert.equal(asV3.code, 'ERR_LOG_MALFORMED');
    assert.match(asV3.message, /a version 3 log cannot use the xxh128 record checksum/);
    assert.equal((await decodeError(withHeaderByte(v4, 13, 3))).code, 'ERR_LOG_CHECKSUM', 'XXH3-128 checksums read as BLAKE3 ones');
    const v3 = await encodeToBuffer(header(), goldenRecords(), { recordHash: 'blake3' });
    assert.equal((await decodeError(withHeaderByte(withHeaderByte(v3, 8, 4), 13, 4))).code, 'ERR_LOG_CHECKSUM', 'BLAKE3 checksums read as XXH3-128 ones');
  });
});
