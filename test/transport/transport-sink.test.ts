import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { OutgoingLog } from '../../src/engine/log-sink.js';
import { decodeLog, encodeLog, type LogHeaderInput } from '../../src/protocol/index.js';
import { KeepingConsumer } from './keeping-consumer.js';
import { Http2LogUploader, ReplicaClient, RetryingUploader, TransportSink } from '../../src/transport/index.js';
import type { LogUploader, UploadResult } from '../../src/transport/log-uploader.js';
import { pki, REPLICA_NAME, startReplica, type ReplicaHost } from './fixtures.js';

const VM = '22222222-3333-4444-8555-666666666666';
const DISKS = ['33333333-4444-4555-8666-777777777771', '33333333-4444-4555-8666-777777777772'];

function outgoing(diskId: string, sequence: number, data: Buffer): OutgoingLog {
  const header: LogHeaderInput = {
    vmId: VM,
    diskId,
    generation: 1,
    sequence,
    baseReferencePoint: '',
    newReferencePoint: `point-${sequence}`,
    virtualSize: 16 * 1024 * 1024,
    logicalSectorSize: 512,
    consistency: 'crash',
  };
  return { diskId, header, encode: () => encodeLog(header, [{ type: 'data', offset: 4096, data }]) };
}

describe('TransportSink: the engine delivering cycles over the network', () => {
  let host: ReplicaHost;
  let spool: string;
  before(async () => {
    host = await startReplica();
    spool = await mkdtemp(join(tmpdir(), 'hvr-spool-'));
  });
  after(async () => {
    await host.close();
    await rm(spool, { recursive: true, force: true });
  });

  for (const spooling of [false, true]) {
  it(`acknowledges a cycle once the replica accepted every disk log ${spooling ? 'from spool files, then clears them' : 'straight from the encoders, writing no spool file'}`, async () => {
    const { primary } = await pki();
    const uploader = new Http2LogUploader(() => ReplicaClient.connect({ serverName: REPLICA_NAME, port: host.port, address: '127.0.0.1' }, primary));
    const sequence = spooling ? 2 : 1;
    const sink = new TransportSink({
      uploader: new RetryingUploader(uploader, { attempts: 2, backoffMs: () => 0 }),
      spoolDir: spool,
      parallelStreams: 2,
      ...(spooling ? { onSpooled: async () => assert.equal((await readdir(join(spool, VM, `1-${sequence}`))).length, DISKS.length, 'one spool file per log') } : {}),
    });
    const data = DISKS.map(() => randomBytes(64 * 1024));
    try {
      const ack = await sink.deliver({ vmId: VM, generation: 1, sequence, logs: DISKS.map((d, i) => outgoing(d, sequence, data[i]!)) });
      assert.equal(ack.generation, 1);
      assert.equal(ack.sequence, sequence);
      assert.ok(ack.logBytes > 2 * 64 * 1024);
      const again = await sink.deliver({ vmId: VM, generation: 1, sequence, logs: DISKS.map((d, i) => outgoing(d, sequence, data[i]!)) });
      assert.equal(again.logBytes, 0, 'a cycle the replica already holds is acknowledged without sending it again');
    } finally {
      await uploader.close();
    }
    for (const [i, disk] of DISKS.entries()) {
      const stored = await readFile(KeepingConsumer.keptPath(join(host.storageDir, 'a', 'hvreplica', VM), disk, 1, sequence));
      const records = [];
      for await (const entry of decodeLog([stored])) if (entry.kind === 'record' && entry.record.type === 'data') records.push(entry.record.data);
      assert.deepEqual(records, [data[i]]);
    }
    assert.equal(existsSync(join(spool, VM, `1-${sequence}`)), false, spooling ? 'the spool files are removed once acknowledged' : 'nothing is spooled');
  });
  }

  it('encodes each log while its upload still waits for the replica to say what it holds', async () => {
    // The record checksum is settled by the session's hello (BLAKE3 or SHA-256), so encoding starts once the
    // session is up; it must then overlap the status round trip instead of waiting for the PUT.
    const { primary } = await pki();
    let encodedBeforeStatus = 0;
    let encoded = 0;
    const uploader = new Http2LogUploader(async () => {
      const client = await ReplicaClient.connect({ serverName: REPLICA_NAME, port: host.port, address: '127.0.0.1' }, primary);
      const status = client.status.bind(client);
      // Held until the encoder has made bytes (or a bound passed): what it made by then was made ahead.
      client.status = async (...args: Parameters<ReplicaClient['status']>) => {
        for (let waited = 0; encoded === 0 && waited < 5_000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
        encodedBeforeStatus = Math.max(encodedBeforeStatus, encoded);
        return status(...args);
      };
      return client;
    });
    const sink = new TransportSink({
      uploader,
      spoolDir: spool,
      onProgress: (p) => {
        if (p.phase === 'spool') encoded = p.bytes;
      },
    });
    try {
      const ack = await sink.deliver({ vmId: VM, generation: 1, sequence: 3, logs: DISKS.map((d) => outgoing(d, 3, randomBytes(64 * 1024))) });
      assert.equal(ack.sequence, 3);
      assert.ok(encodedBeforeStatus > 0, 'bytes were encoded before the replica answered the status request');
    } finally {
      await uploader.close();
    }
  });

  it('tells its caller once every log is spooled, while the uploads still run (the source can be let go)', async () => {
    let releaseUploads!: () => void;
    const uploadsMayFinish = new Promise<void>((resolve) => (releaseUploads = resolve));
    const events: string[] = [];
    // An uploader that holds every upload until the test lets it finish: deterministic ordering.
    const gated: LogUploader = {
      async upload(source) {
        events.push(`upload started ${source.key.sequence}`);
        await uploadsMayFinish;
        const { length } = await source.finished();
        events.push('upload finished');
        return { Accepted: true, ReceivedBytes: length, SentBytes: length, Attempts: 1 } as UploadResult;
      },
    };
    const sink = new TransportSink({
      uploader: gated,
      spoolDir: spool,
      onSpooled: async () => {
        events.push('spooled');
        releaseUploads();
      },
    });
    const ack = await sink.deliver({ vmId: VM, generation: 1, sequence: 2, logs: DISKS.map((d) => outgoing(d, 2, randomBytes(4096))) });
    assert.equal(ack.sequence, 2);
    assert.equal(events.indexOf('spooled') < events.indexOf('upload finished'), true, `spooled is told before any upload ends: ${events.join(', ')}`);
    assert.equal(events.filter((e) => e === 'upload finished').length, DISKS.length);
  });
});
