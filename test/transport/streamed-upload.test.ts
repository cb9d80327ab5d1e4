/**
 * Uploading a log while it is still being spooled: the upload starts with the first bytes, follows the
 * spool as it grows, and after a network cut resumes from the spool at the bytes the replica holds,
 * even though the log is not complete yet.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Http2LogUploader, LogSpool, ReplicaClient, RetryingUploader, STREAM_WINDOW_BYTES, type CompleteLog, type LogSource } from '../../src/transport/index.js';
import { startCuttingProxy } from './cutting-proxy.js';
import { makeLog, pki, REPLICA_NAME, startReplica, type ReplicaHost } from './fixtures.js';
import { KeepingConsumer } from './keeping-consumer.js';

const VM = '11111111-2222-4333-8444-555555555555';
const DISK = 'aaaaaaaa-bbbb-4ccc-8ddd-000000000077';

function write(stream: NodeJS.WritableStream, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => stream.write(chunk, (error) => (error ? reject(error) : resolve())));
}

describe('upload while spooling', () => {
  let host: ReplicaHost;
  let dir: string;
  before(async () => {
    host = await startReplica();
    dir = await mkdtemp(join(tmpdir(), 'hvr-stream-'));
  });
  after(async () => {
    await host.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts before the log is complete and resumes from the growing spool after a cut', async () => {
    const { primary } = await pki();
    const key = { vmId: VM, diskId: DISK, generation: 1, sequence: 1 };
    const log = await makeLog(key, randomBytes(3 * STREAM_WINDOW_BYTES));
    const spool = await LogSpool.create(join(dir, 'a.hvrlog'), key);
    const writer = spool.writer();
    const opened: { offset: number; complete: CompleteLog | undefined }[] = [];
    let resumed!: () => void;
    const resumedPromise = new Promise<void>((resolve) => (resumed = resolve));
    const spied: LogSource = {
      ...spool.source,
      open: (offset) => {
        opened.push({ offset, complete: spool.source.complete() });
        if (opened.length === 2) resumed();
        return spool.source.open(offset);
      },
    };
    // The proxy cuts the connection once, after two stream windows: before the spool is complete.
    const proxy = await startCuttingProxy(host.port, 2 * STREAM_WINDOW_BYTES);
    const uploader = new Http2LogUploader(() => ReplicaClient.connect({ serverName: REPLICA_NAME, port: proxy.port, address: '127.0.0.1' }, primary));
    const retrying = new RetryingUploader(uploader, { attempts: 3, backoffMs: () => 0 });
    try {
      const head = Math.floor(2.5 * STREAM_WINDOW_BYTES);
      await write(writer, log.subarray(0, head));
      const uploading = retrying.upload(spied);
      // The rest of the log is written only once the upload was cut and resumed.
      await resumedPromise;
      await write(writer, log.subarray(head));
      await new Promise<void>((resolve) => writer.end(resolve));
      const result = await uploading;
      assert.equal(result.Accepted, true);
      assert.equal(result.Attempts, 2);
      assert.equal(proxy.cuts, 1);
      assert.equal(opened[0]!.offset, 0);
      assert.equal(opened[0]!.complete, undefined, 'the upload started before the log was complete');
      assert.equal(opened[1]!.complete, undefined, 'and resumed before it was complete');
      assert.ok(opened[1]!.offset > 0 && opened[1]!.offset <= head, `resumed at ${opened[1]!.offset}`);
      assert.deepEqual(spool.source.complete()?.length, log.length);
    } finally {
      await uploader.close();
      await proxy.close();
    }
    const stored = await readFile(KeepingConsumer.keptPath(join(host.storageDir, 'a', 'hvreplica', VM), DISK, 1, 1));
    assert.ok(stored.equals(log), 'the log arrived byte for byte');
  });

  it('gives a follower the same bytes whether it keeps up (memory) or lags far behind (the file)', async () => {
    const key = { vmId: VM, diskId: DISK, generation: 1, sequence: 3 };
    const spool = await LogSpool.create(join(dir, 'c.hvrlog'), key);
    const writer = spool.writer();
    const log = await makeLog(key, randomBytes(40 * 1024 * 1024));
    const early: Buffer[] = [];
    const keepingUp = (async () => {
      for await (const chunk of spool.source.open(0)) early.push(chunk as Buffer);
    })();
    for (let at = 0; at < log.length; at += 1024 * 1024) await write(writer, log.subarray(at, at + 1024 * 1024));
    await new Promise<void>((resolve) => writer.end(resolve));
    await keepingUp;
    const late: Buffer[] = [];
    for await (const chunk of spool.source.open(1000)) late.push(chunk as Buffer);
    assert.ok(Buffer.concat(early).equals(log));
    assert.ok(Buffer.concat(late).equals(log.subarray(1000)));
  });

  it('fails the upload with the spool when the encoder fails', async () => {
    const { primary } = await pki();
    const key = { vmId: VM, diskId: DISK, generation: 1, sequence: 2 };
    const log = await makeLog(key, randomBytes(256 * 1024));
    const spool = await LogSpool.create(join(dir, 'b.hvrlog'), key);
    const writer = spool.writer();
    const uploader = new Http2LogUploader(() => ReplicaClient.connect({ serverName: REPLICA_NAME, port: host.port, address: '127.0.0.1' }, primary));
    try {
      await write(writer, log.subarray(0, 100 * 1024));
      const uploading = uploader.upload(spool.source);
      // In the sink the pipeline owns the writer's error; here the test does.
      writer.on('error', () => undefined);
      writer.destroy(new Error('the frozen disk could not be read'));
      await assert.rejects(uploading, /the frozen disk could not be read/);
      await assert.rejects(spool.source.finished(), /the frozen disk could not be read/);
    } finally {
      await uploader.close();
    }
  });
});
