import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { link, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configureLogging } from '../../src/logging/logger.js';
import { encodeLog, type LogWriteOptions } from '../../src/protocol/index.js';
import { LogReceiver, OffsetMismatchError, uploadsDir, ReplicaError, type LogConsumer, type LogKey, type VerifiedLog } from '../../src/replica/index.js';
import { KeepingConsumer } from '../transport/keeping-consumer.js';

configureLogging({ quietConsole: true });

const KEY: LogKey = { vmId: '44444444-5555-4666-8777-888888888888', diskId: '55555555-6666-4777-8888-999999999999', generation: 1, sequence: 1 };

async function makeLog(key: LogKey, size: number, options: LogWriteOptions = {}): Promise<{ log: Buffer; hash: string }> {
  const chunks: Buffer[] = [];
  const header = { ...key, baseReferencePoint: '', newReferencePoint: 'p1', virtualSize: 64 * 1024 * 1024, logicalSectorSize: 512 as const, consistency: 'crash' as const };
  for await (const chunk of encodeLog(header, [{ type: 'data', offset: 0, data: randomBytes(size) }], options)) chunks.push(chunk);
  const log = Buffer.concat(chunks);
  return { log, hash: log.subarray(log.length - 40, log.length - 8).toString('hex') };
}

async function* bytes(buf: Buffer, failAfter?: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < buf.length; at += 16 * 1024) {
    if (failAfter !== undefined && at >= failAfter) throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
    yield buf.subarray(at, at + 16 * 1024);
  }
}

describe('log receiver: durable, resumable, verified', () => {
  let dir: string;
  let vmDir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hvr-recv-'));
    vmDir = join(dir, KEY.vmId);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps what arrived before a fault, and a restarted server continues from there', async () => {
    const { log, hash } = await makeLog(KEY, 256 * 1024);
    const request = { offset: 0, totalLength: log.length, logHash: hash, primaryServerName: 'hv-a.lab.test' };
    const first = new LogReceiver(new KeepingConsumer(), { maxLogBytes: 1 << 30 });
    await assert.rejects(first.receive(vmDir, KEY, request, bytes(log, 96 * 1024)), /connection reset/);
    const held = await first.status(vmDir, KEY);
    assert.equal(held.ReceivedBytes, 96 * 1024);
    assert.equal(held.Accepted, false);

    const restarted = new LogReceiver(new KeepingConsumer(), { maxLogBytes: 1 << 30 });
    await assert.rejects(restarted.receive(vmDir, KEY, { ...request, offset: 200 * 1024 }, bytes(log.subarray(200 * 1024))), (e: OffsetMismatchError) => e.receivedBytes === 96 * 1024);
    const done = await restarted.receive(vmDir, KEY, { ...request, offset: held.ReceivedBytes }, bytes(log.subarray(held.ReceivedBytes)));
    assert.deepEqual(done, { ReceivedBytes: log.length, Accepted: true, Position: '1/1@0' });
    assert.ok((await readFile(KeepingConsumer.keptPath(vmDir, KEY.diskId, 1, 1))).equals(log));
    assert.deepEqual(await restarted.receive(vmDir, KEY, request, bytes(log)), done, 'receiving an accepted log again is a no-op');
  });

  it('a body that simply ends early is kept for resuming, not refused as a truncated log', async () => {
    const key = { ...KEY, diskId: '55555555-6666-4777-8888-000000000011' };
    const { log, hash } = await makeLog(key, 3 * 1024 * 1024);
    const request = { offset: 0, totalLength: log.length, logHash: hash, primaryServerName: 'a.b.c' };
    const receiver = new LogReceiver(new KeepingConsumer(), { maxLogBytes: 1 << 30 });
    const cut = 1536 * 1024 + 100;
    const early = await receiver.receive(vmDir, key, request, bytes(log.subarray(0, cut)));
    assert.deepEqual(early, { ReceivedBytes: cut, Accepted: false, Position: null });
    const done = await receiver.receive(vmDir, key, { ...request, offset: cut }, bytes(log.subarray(cut)));
    assert.equal(done.Accepted, true);
    assert.ok((await readFile(KeepingConsumer.keptPath(vmDir, key.diskId, 1, 1))).equals(log));
  });

  it('verifies a whole upload as it arrives: a damaged record is refused and nothing of it remains', async () => {
    const key = { ...KEY, diskId: '55555555-6666-4777-8888-000000000012' };
    const { log, hash } = await makeLog(key, 2 * 1024 * 1024);
    const damaged = Buffer.from(log);
    damaged[300 * 1024] = damaged[300 * 1024]! ^ 0x04;
    const receiver = new LogReceiver(new KeepingConsumer(), { maxLogBytes: 1 << 30 });
    const request = { offset: 0, totalLength: log.length, logHash: hash, primaryServerName: 'a.b.c' };
    await assert.rejects(receiver.receive(vmDir, key, request, bytes(damaged)), (e: { code: string }) => e.code === 'ERR_LOG_CHECKSUM');
    assert.deepEqual(await readdir(join(vmDir, 'uploads', key.diskId)), [], 'the refused log is gone');
    assert.deepEqual(await receiver.status(vmDir, key, { logHash: hash }), { ReceivedBytes: 0, Accepted: false, Position: null });
    assert.equal((await receiver.receive(vmDir, key, request, bytes(log))).Accepted, true, 'the intact log is taken afterwards');
  });

  it('takes an XXH3-128 log (version 4) resumed after a fault, and refuses one with a damaged record naming where', async () => {
    const key = { ...KEY, diskId: '55555555-6666-4777-8888-000000000013' };
    const { log, hash } = await makeLog(key, 3 * 1024 * 1024, { recordHash: 'xxh128' });
    assert.equal(log.readUInt16LE(8), 4);
    const request = { offset: 0, totalLength: log.length, logHash: hash, primaryServerName: 'a.b.c' };
    const receiver = new LogReceiver(new KeepingConsumer(), { maxLogBytes: 1 << 30 });
    const damaged = Buffer.from(log);
    damaged[2 * 1024 * 1024] = damaged[2 * 1024 * 1024]! ^ 0x10;
    await assert.rejects(receiver.receive(vmDir, key, request, bytes(damaged)), (e: { code: string; message: string }) => {
      assert.equal(e.code, 'ERR_LOG_CHECKSUM');
      // The only record starts right after the header: the error names it, and says what to do.
      assert.match(e.message, new RegExp(`record checksum mismatch: the log is corrupt; send it again \\(at byte ${log.readUInt16LE(10)}\\)`));
      return true;
    });
    assert.deepEqual(await readdir(join(vmDir, 'uploads', key.diskId)), [], 'the refused log is gone');
    await assert.rejects(receiver.receive(vmDir, key, request, bytes(log, 1024 * 1024)), /connection reset/);
    const held = await receiver.status(vmDir, key, { logHash: hash });
    assert.equal(held.ReceivedBytes, 1024 * 1024);
    const done = await receiver.receive(vmDir, key, { ...request, offset: held.ReceivedBytes }, bytes(log.subarray(held.ReceivedBytes)));
    assert.equal(done.Accepted, true);
    assert.ok((await readFile(KeepingConsumer.keptPath(vmDir, key.diskId, 1, 1))).equals(log));
  });

  it('starts over when a different log arrives under the same sequence', async () => {
    const key = { ...KEY, diskId: '55555555-6666-4777-8888-000000000002' };
    const receiver = new LogReceiver(new KeepingConsumer(), { maxLogBytes: 1 << 30 });
    const old = await makeLog(key, 64 * 1024);
    await assert.rejects(receiver.receive(vmDir, key, { offset: 0, totalLength: old.log.length, logHash: old.hash, primaryServerName: 'a.b.c' }, bytes(old.log, 32 * 1024)));
    const recut = await makeLog(key, 96 * 1024);
    const request = { offset: 32 * 1024, totalLength: recut.log.length, logHash: recut.hash, primaryServerName: 'a.b.c' };
    await assert.rejects(receiver.receive(vmDir, key, request, bytes(recut.log.subarray(32 * 1024))), (e: OffsetMismatchError) => e.receivedBytes === 0);
    const done = await receiver.receive(vmDir, key, { ...request, offset: 0 }, bytes(recut.log));
    assert.equal(done.Position, '1/1@0');
  });

  it('refuses oversized uploads, bad declarations and a log that is not the one announced', async () => {
    const key = { ...KEY, diskId: '55555555-6666-4777-8888-000000000003' };
    const receiver = new LogReceiver(new KeepingConsumer(), { maxLogBytes: 100 * 1024 });
    const { log, hash } = await makeLog(key, 64 * 1024);
    const code = (e: ReplicaError) => e.code;
    await assert.rejects(receiver.receive(vmDir, key, { offset: 0, totalLength: 200 * 1024, logHash: hash, primaryServerName: 'a.b.c' }, bytes(log)), (e: ReplicaError) => code(e) === 'ERR_INVALID_ARGUMENT' && /--max-log-bytes/.test(e.message));
    await assert.rejects(receiver.receive(vmDir, key, { offset: 0, totalLength: log.length - 10, logHash: hash, primaryServerName: 'a.b.c' }, bytes(log)), /longer than the declared/);
    await assert.rejects(receiver.receive(vmDir, key, { offset: 0, totalLength: log.length, logHash: 'zz', primaryServerName: 'a.b.c' }, bytes(log)), /64 lower-case hex/);
    const other = await makeLog(key, 64 * 1024);
    await assert.rejects(receiver.receive(vmDir, key, { offset: 0, totalLength: log.length, logHash: other.hash, primaryServerName: 'a.b.c' }, bytes(log)), (e: { code: string }) => e.code === 'ERR_LOG_CHECKSUM');
    assert.deepEqual((await readdir(join(vmDir, 'uploads', key.diskId))), [], 'nothing of a refused log remains');
    const wrongPlace = { ...key, diskId: '66666666-7777-4888-8999-000000000000' };
    await assert.rejects(receiver.receive(vmDir, wrongPlace, { offset: 0, totalLength: log.length, logHash: hash, primaryServerName: 'a.b.c' }, bytes(log)), /does not match where it was uploaded/);
  });
  it('never writes into a complete upload the consumer has linked: a resend goes to a file of its own', async () => {
    const key = { ...KEY, diskId: '55555555-6666-4777-8888-000000000009' };
    const { log, hash } = await makeLog(key, 128 * 1024);
    const request = { offset: 0, totalLength: log.length, logHash: hash, primaryServerName: 'hv-a.lab.test' };
    const held = join(dir, 'held-by-storage.hvrlog');
    // A consumer like the VHDX replica storage: it links the received file instead of copying it. The
    // first time it fails for a passing reason after the link (a crash or a full disk before its state
    // was saved), so the receiver still holds its complete file with a second name on it.
    let calls = 0;
    const linking = {
      async consume(_vmDir: string, verified: VerifiedLog): Promise<void> {
        calls += 1;
        if (calls === 1) {
          await link(verified.path, held);
          throw Object.assign(new Error('no space left on device'), { code: 'ERR_DISK_FULL' });
        }
      },
    } satisfies LogConsumer;
    const receiver = new LogReceiver(linking, { maxLogBytes: 1 << 30 });
    await assert.rejects(receiver.receive(vmDir, key, request, bytes(log)), /no space/);
    assert.equal((await receiver.status(vmDir, key, { logHash: hash })).ReceivedBytes, log.length, 'the complete log stays with the receiver');

    // The primary sends the log again from the start (its own choice); the bytes must not go through the
    // linked inode, or the consumer's copy would be truncated and rewritten under it.
    const corrupted = Buffer.from(log);
    corrupted[100] ^= 0xff;
    await assert.rejects(receiver.receive(vmDir, key, request, bytes(corrupted)));
    assert.ok((await readFile(held)).equals(log), 'the linked file is unchanged');
    assert.equal((await stat(held)).nlink, 1, 'the receiver dropped its name rather than writing into it');
    const done = await receiver.receive(vmDir, key, request, bytes(log));
    assert.equal(done.Accepted, true);
    assert.equal(calls, 2);
  });
});

describe('log receiver: logs streamed before the primary knows their length', () => {
  let dir: string;
  let vmDir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hvr-recv-stream-'));
    vmDir = join(dir, KEY.vmId);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const streamed = (uploadId: string, offset = 0) => ({ offset, uploadId, primaryServerName: 'a.b.c' });

  it('takes a log named by an upload id, resumes it by that id and learns its length and hash from the trailer', async () => {
    const key = { ...KEY, diskId: '55555555-6666-4777-8888-000000000021' };
    const { log, hash } = await makeLog(key, 512 * 1024);
    const receiver = new LogReceiver(new KeepingConsumer(), { maxLogBytes: 1 << 30 });
    const id = '1'.repeat(32);
    await assert.rejects(receiver.receive(vmDir, key, streamed(id), bytes(log, 128 * 1024)), /connection reset/);
    assert.deepEqual(await receiver.status(vmDir, key, { uploadId: '2'.repeat(32) }), { ReceivedBytes: 0, Accepted: false, Position: null }, 'another upload of the sequence holds nothing');
    const held = await receiver.status(vmDir, key, { uploadId: id });
    assert.equal(held.ReceivedBytes, 128 * 1024);
    const done = await receiver.receive(vmDir, key, streamed(id, held.ReceivedBytes), bytes(log.subarray(held.ReceivedBytes)));
    assert.deepEqual(done, { ReceivedBytes: log.length, Accepted: true, Position: '1/1@0' });
    assert.ok((await readFile(KeepingConsumer.keptPath(vmDir, key.diskId, 1, 1))).equals(log));
    assert.equal((await receiver.status(vmDir, key, { logHash: hash })).Accepted, true, 'the accepted log is known by its hash too');
  });

  it('refuses a streamed log whose trailer hash does not match its bytes, and keeps nothing of it', async () => {
    const key = { ...KEY, diskId: '55555555-6666-4777-8888-000000000022' };
    const { log } = await makeLog(key, 256 * 1024);
    const damaged = Buffer.from(log);
    damaged[damaged.length - 20] = damaged[damaged.length - 20]! ^ 0x01;
    const receiver = new LogReceiver(new KeepingConsumer(), { maxLogBytes: 1 << 30 });
    await assert.rejects(receiver.receive(vmDir, key, streamed('3'.repeat(32)), bytes(damaged)), (e: { code: string }) => e.code === 'ERR_LOG_CHECKSUM');
    assert.deepEqual(await readdir(join(vmDir, 'uploads', key.diskId)), []);
    assert.equal((await receiver.receive(vmDir, key, streamed('4'.repeat(32)), bytes(log))).Accepted, true, 'the intact log is taken afterwards');
  });

  it('refuses a streamed body that ends before the trailer: the primary said that was the whole log', async () => {
    const key = { ...KEY, diskId: '55555555-6666-4777-8888-000000000023' };
    const { log } = await makeLog(key, 256 * 1024);
    const receiver = new LogReceiver(new KeepingConsumer(), { maxLogBytes: 1 << 30 });
    await assert.rejects(receiver.receive(vmDir, key, streamed('5'.repeat(32)), bytes(log.subarray(0, 100 * 1024))), (e: { code: string }) => e.code === 'ERR_LOG_TRUNCATED');
    assert.deepEqual(await readdir(join(vmDir, 'uploads', key.diskId)), []);
  });

  it('bounds a streamed body by the server limit and checks the upload id', async () => {
    const key = { ...KEY, diskId: '55555555-6666-4777-8888-000000000024' };
    const { log } = await makeLog(key, 256 * 1024);
    const receiver = new LogReceiver(new KeepingConsumer(), { maxLogBytes: 128 * 1024 });
    await assert.rejects(receiver.receive(vmDir, key, streamed('6'.repeat(32)), bytes(log)), /ran past 131072 bytes.*hvreplica server run --max-log-bytes/);
    assert.deepEqual(await readdir(uploadsDir(vmDir, key.diskId)), [], 'nothing of the refused log stays');
    await assert.rejects(receiver.receive(vmDir, key, streamed('not-hex'), bytes(log)), /upload id/);
    await assert.rejects(receiver.receive(vmDir, key, { offset: 0, primaryServerName: 'a.b.c' }, bytes(log)), /upload id or the log hash/);
  });
});
