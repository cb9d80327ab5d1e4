/**
 * A log uploaded straight from its encoder (no spool file): a resume continues from the bytes kept in
 * memory, or, when the replica holds less than memory reaches back, from a second pass of the encoder; a
 * second pass that differs, an encoder that fails and closing while the encoder is open are all handled.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { OutgoingLog } from '../../src/engine/log-sink.js';
import { encodeLog, type LogHeaderInput } from '../../src/protocol/index.js';
import { Http2LogUploader, ReplayableLog, ReplicaClient, RetryingUploader, STREAM_WINDOW_BYTES, TransportSink } from '../../src/transport/index.js';
import { KEEP_BYTES, RELEASE_LAG_BYTES } from '../../src/transport/replayable-log.js';
import { RecycledBuffers } from '../../src/util/recycled-buffers.js';
import { startCuttingProxy } from './cutting-proxy.js';
import { pki, REPLICA_NAME, startReplica, type ReplicaHost } from './fixtures.js';
import { KeepingConsumer } from './keeping-consumer.js';

const VM = '11111111-2222-4333-8444-555555555556';
const DISK = 'aaaaaaaa-bbbb-4ccc-8ddd-000000000078';
const MiB = 1024 * 1024;

function header(sequence: number): LogHeaderInput {
  return {
    vmId: VM,
    diskId: DISK,
    generation: 1,
    sequence,
    baseReferencePoint: `ref-${sequence - 1}`,
    newReferencePoint: `ref-${sequence}`,
    virtualSize: 256 * MiB,
    logicalSectorSize: 512,
    consistency: 'crash',
  };
}

/** An encoder over fixed data in 1 MiB records, counting its passes and whether each was closed. */
function encoderOf(sequence: number, data: Buffer) {
  const passes: { closed: boolean }[] = [];
  const encode = () => {
    const pass = { closed: false };
    passes.push(pass);
    return (async function* () {
      try {
        yield* encodeLog(header(sequence), (function* () {
          for (let at = 0; at < data.length; at += MiB) yield { type: 'data' as const, offset: at, data: data.subarray(at, at + MiB) };
        })());
      } finally {
        pass.closed = true;
      }
    })();
  };
  return { encode, passes };
}

async function whole(encode: () => AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of encode()) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function read(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('upload without a spool file', () => {
  let host: ReplicaHost;
  before(async () => {
    host = await startReplica();
  });
  after(async () => {
    await host.close();
  }, { timeout: 60_000 });

  for (const { name, keepBytes, passes } of [
    { name: 'from memory when the replica holds what was last sent', keepBytes: undefined, passes: 1 },
    { name: 'from a second pass of the encoder when memory does not reach back that far', keepBytes: MiB, passes: 2 },
  ]) {
    // A bound, so that a stuck upload fails this test (saying so) instead of holding the whole suite.
    it(`resumes a cut upload ${name}`, { timeout: 120_000 }, async () => {
      const { primary } = await pki();
      const sequence = passes;
      const data = randomBytes(6 * STREAM_WINDOW_BYTES);
      const { encode, passes: made } = encoderOf(sequence, data);
      const expected = await whole(encode);
      made.length = 0;
      const replay = new ReplayableLog({ vmId: VM, diskId: DISK, generation: 1, sequence }, encode, keepBytes === undefined ? {} : { keepBytes });
      const offsets: number[] = [];
      const spied = { ...replay.source, open: (offset: number) => (offsets.push(offset), replay.source.open(offset)) };
      // Cut where the other cut-upload tests cut (two stream windows): cut later, at three, the client twice
      // under heavy load never noticed the connection gone (bench/replication/README.md, runs 59–66).
      const proxy = await startCuttingProxy(host.port, 2 * STREAM_WINDOW_BYTES);
      const uploader = new Http2LogUploader(() => ReplicaClient.connect({ serverName: REPLICA_NAME, port: proxy.port, address: '127.0.0.1' }, primary));
      try {
        const result = await new RetryingUploader(uploader, { attempts: 3, backoffMs: () => 0 }).upload(spied);
        assert.equal(result.Accepted, true);
        assert.equal(proxy.cuts, 1);
        assert.equal(offsets.length, 2);
        assert.ok(offsets[1]! > 0 && offsets[1]! < expected.length, `resumed at ${offsets[1]}`);
        assert.equal(replay.passes, passes, `encoder passes: ${replay.passes}`);
        assert.deepEqual(replay.source.complete(), { length: expected.length, hash: expected.subarray(-40, -8).toString('hex') });
      } finally {
        await replay.close();
        await uploader.close();
        await proxy.close();
      }
      assert.ok(made.every((p) => p.closed), 'every pass of the encoder was closed (the frozen image is let go)');
      const stored = await readFile(KeepingConsumer.keptPath(join(host.storageDir, 'a', 'hvreplica', VM), DISK, 1, sequence));
      assert.ok(stored.equals(expected), 'the log arrived byte for byte');
    });
  }

  it('gives the same bytes from any offset, kept or encoded again, and counts encoded bytes once', async () => {
    const data = randomBytes(8 * MiB);
    const { encode, passes } = encoderOf(5, data);
    const expected = await whole(encode);
    passes.length = 0;
    let encoded = 0;
    let completed = 0;
    const replay = new ReplayableLog({ vmId: VM, diskId: DISK, generation: 1, sequence: 5 }, encode, { keepBytes: 2 * MiB, onEncoded: (n) => (encoded += n), onComplete: () => (completed += 1) });
    assert.ok((await read(replay.source.open(0))).equals(expected));
    assert.equal(replay.passes, 1);
    const near = expected.length - MiB;
    assert.ok((await read(replay.source.open(near))).equals(expected.subarray(near)), 'the last bytes come from memory');
    assert.equal(replay.passes, 1);
    assert.ok((await read(replay.source.open(1000))).equals(expected.subarray(1000)), 'older bytes come from a second pass');
    assert.equal(replay.passes, 2);
    assert.equal(encoded, expected.length, 'progress counts each byte once, however often it is encoded');
    assert.equal(completed, 1);
    assert.deepEqual(await replay.source.finished(), { length: expected.length, hash: expected.subarray(-40, -8).toString('hex') });
    await replay.close();
    assert.ok(passes.every((p) => p.closed));
  });

  it('encodes the first bytes while the upload still connects, at most half of what it keeps, and serves them from memory', async () => {
    const data = randomBytes(8 * MiB);
    const { encode, passes } = encoderOf(9, data);
    const expected = await whole(encode);
    passes.length = 0;
    let encoded = 0;
    const keepBytes = 4 * MiB;
    const replay = new ReplayableLog({ vmId: VM, diskId: DISK, generation: 1, sequence: 9 }, encode, { keepBytes, onEncoded: (n) => (encoded += n) });
    replay.source.readAhead?.();
    for (let waited = 0; encoded < keepBytes / 2 && waited < 10_000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
    // Nobody reads yet: the encoder stops at the bound (one record past it at most) instead of running to the end.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(encoded >= keepBytes / 2, `encoded ahead: ${encoded}`);
    assert.ok(encoded < keepBytes / 2 + 2 * MiB, `stopped at the bound: ${encoded}`);
    assert.ok((await read(replay.source.open(0))).equals(expected));
    assert.equal(replay.passes, 1, 'the bytes encoded ahead were read from memory, not encoded again');
    assert.equal(encoded, expected.length);
    await replay.close();
    assert.ok(passes.every((p) => p.closed));
  });

  it('refuses to go on when a second pass of the encoder gives another log', async () => {
    // Random data, new on every pass: a source that changed under the encoder.
    const encode = () => encodeLog(header(6), [{ type: 'data' as const, offset: 0, data: randomBytes(4 * MiB) }]);
    const replay = new ReplayableLog({ vmId: VM, diskId: DISK, generation: 1, sequence: 6 }, encode, { keepBytes: MiB });
    await read(replay.source.open(0));
    await assert.rejects(read(replay.source.open(10)), /encoding the log again gave a different log/);
    await replay.close();
  });

  it('closes an encoder that is still open, and fails a reader after that', async () => {
    const { encode, passes } = encoderOf(7, randomBytes(4 * MiB));
    const replay = new ReplayableLog({ vmId: VM, diskId: DISK, generation: 1, sequence: 7 }, encode);
    const stream = replay.source.open(0);
    stream.on('error', () => undefined);
    const first = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
    assert.ok(first.length > 0);
    stream.pause();
    await replay.close();
    assert.equal(passes.length, 1);
    assert.equal(passes[0]!.closed, true, 'the encoder (and what it reads) is closed');
    stream.destroy();
  });

  it('fails the cycle with the encoder\'s own error, not the upload\'s', { timeout: 120_000 }, async () => {
    const { primary } = await pki();
    const uploader = new Http2LogUploader(() => ReplicaClient.connect({ serverName: REPLICA_NAME, port: host.port, address: '127.0.0.1' }, primary));
    const sink = new TransportSink({ uploader: new RetryingUploader(uploader, { attempts: 3, backoffMs: () => 0 }), spoolDir: '/nonexistent/never-used' });
    const failure = Object.assign(new Error('tracking lost its place'), { code: 'ERR_RESYNC_REQUIRED' });
    const log: OutgoingLog = {
      diskId: DISK,
      header: header(8),
      encode: () =>
        encodeLog(header(8), (async function* () {
          yield { type: 'data' as const, offset: 0, data: randomBytes(2 * MiB) };
          throw failure;
        })()),
    };
    try {
      await assert.rejects(sink.deliver({ vmId: VM, generation: 1, sequence: 8, logs: [log] }), (error) => error === failure);
    } finally {
      await uploader.close();
    }
  });

  describe('giving chunks back for reuse (recycle)', () => {
    /**
     * An encoder whose payloads are lent by `buffers` (as the engine's reads are), and a recycle that scribbles
     * over what it is given before lending it again: a chunk given back too early shows as wrong bytes.
     */
    function recyclingEncoder(data: Buffer) {
      const buffers = new RecycledBuffers(MiB, 64);
      let recycled = 0;
      const encode = () =>
        encodeLog(header(11), (function* () {
          for (let at = 0; at < data.length; at += MiB) {
            const lent = buffers.take();
            data.copy(lent, 0, at, at + MiB);
            yield { type: 'data' as const, offset: at, data: lent };
          }
        })());
      const recycle = (chunk: Buffer) => {
        chunk.fill(0xee);
        if (buffers.give(chunk)) recycled += 1;
      };
      return { encode, recycle, recycledCount: () => recycled };
    }

    /**
     * Reads a stream as `pipe` does (its 'data' events, each chunk as the stream has it), holding the last
     * `holdBytes` of chunks as views before copying them out, as the stages after a reader's stream hold what they
     * were handed. `stopAfter`: the stream is destroyed there (as a failed upload's body is) while what was held
     * stays held.
     */
    function readHolding(stream: Readable, holdBytes: number, stopAfter = Number.POSITIVE_INFINITY) {
      const out: Buffer[] = [];
      const held: Buffer[] = [];
      let heldBytes = 0;
      let seen = 0;
      const copied = () => Buffer.concat([...out, ...held.map((b) => Buffer.from(b))]);
      return new Promise<{ copied: () => Buffer }>((resolve, reject) => {
        stream.on('data', (chunk: Buffer) => {
          held.push(chunk);
          heldBytes += chunk.length;
          seen += chunk.length;
          while (heldBytes - held[0]!.length >= holdBytes) {
            const oldest = held.shift()!;
            heldBytes -= oldest.length;
            out.push(Buffer.from(oldest));
          }
          if (seen >= stopAfter) {
            stream.destroy();
            resolve({ copied });
          }
        });
        stream.once('end', () => resolve({ copied }));
        stream.once('error', reject);
      });
    }

    /** What the stages after a reader's stream may hold: the lag less the stream's own read-ahead and a margin. */
    const holdBytes = RELEASE_LAG_BYTES - 6 * MiB;

    it('keeps more than a reader\'s lag, so that what it lets go of can be reused at all', () => {
      assert.ok(KEEP_BYTES >= RELEASE_LAG_BYTES + 8 * MiB, `KEEP_BYTES ${KEEP_BYTES} against RELEASE_LAG_BYTES ${RELEASE_LAG_BYTES}`);
    });

    it('gives back chunks far enough behind the reader, and the reader still gets every byte right', async () => {
      const data = randomBytes(48 * MiB);
      const expected = await whole(encoderOf(11, data).encode);
      const { encode, recycle, recycledCount } = recyclingEncoder(data);
      const replay = new ReplayableLog({ vmId: VM, diskId: DISK, generation: 1, sequence: 11 }, encode, { recycle });
      const read = await readHolding(replay.source.open(0), holdBytes);
      assert.ok(read.copied().equals(expected), 'no chunk the reader could still hold was reused');
      assert.ok(recycledCount() >= 10, `chunks were given back for reuse (${recycledCount()})`);
      await replay.close();
    });

    it('gives back nothing it lets go of within the lag of a reader, even when it keeps less than that', async () => {
      const data = randomBytes(32 * MiB);
      const expected = await whole(encoderOf(11, data).encode);
      const { encode, recycle, recycledCount } = recyclingEncoder(data);
      // Kept 8 MiB: every chunk let go of may still be in the reader's stream or held after it.
      const replay = new ReplayableLog({ vmId: VM, diskId: DISK, generation: 1, sequence: 11 }, encode, { keepBytes: 8 * MiB, recycle });
      const read = await readHolding(replay.source.open(0), holdBytes);
      assert.ok(read.copied().equals(expected));
      assert.equal(recycledCount(), 0);
      await replay.close();
    });

    it('never reuses what a reader that stopped was handed, while a second reader goes on', async () => {
      const data = randomBytes(64 * MiB);
      const expected = await whole(encoderOf(11, data).encode);
      const { encode, recycle, recycledCount } = recyclingEncoder(data);
      const replay = new ReplayableLog({ vmId: VM, diskId: DISK, generation: 1, sequence: 11 }, encode, { recycle });
      // The first upload is cut after 32 MiB; its stream is left holding what it had (nobody destroys it).
      const cut = await readHolding(replay.source.open(0), holdBytes, 32 * MiB);
      const resumeAt = 30 * MiB;
      const second = await readHolding(replay.source.open(resumeAt), holdBytes);
      assert.ok(second.copied().equals(expected.subarray(resumeAt)), 'the second reader gets every byte right');
      const cutBytes = cut.copied();
      assert.ok(cutBytes.equals(expected.subarray(0, cutBytes.length)), 'what the cut reader still holds was not reused');
      assert.ok(recycledCount() > 0, 'chunks behind both readers were still given back');
      await replay.close();
    });
  });
});

