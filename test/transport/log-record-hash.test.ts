/**
 * Which record checksum a primary writes its logs with: XXH3-128 (log format version 4, protocol 6) for a replica
 * server that lists it in its hello, else BLAKE3 (version 3, protocol 4) for one that lists that (a protocol 4–5
 * server), SHA-256 (version 2, what every replica reads) for any other; the replica verifies and keeps each. A
 * primary before protocol 6 (it knows BLAKE3 only) sends a current server BLAKE3 logs, which it takes. Over the
 * real HTTP/2 server and TransportSink.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { OutgoingLog } from '../../src/engine/log-sink.js';
import {
  agreedRecordHash,
  decodeLog,
  encodeLog,
  recordHashesWorthUsingHere,
  type LogHeader,
  type LogHeaderInput,
  type LogWriteOptions,
  type RecordHashAlgorithm,
} from '../../src/protocol/index.js';
import { BandwidthLimitedUploader, Http2LogUploader, ReplicaClient, RetryingUploader, TransportSink, type LogUploader } from '../../src/transport/index.js';
import { BandwidthSchedule } from '../../src/transport/bandwidth-schedule.js';
import { KeepingConsumer } from './keeping-consumer.js';
import { pki, REPLICA_NAME, startReplica, type ReplicaHost } from './fixtures.js';

const VM = '44444444-3333-4444-8555-666666666666';
const DISK = '55555555-4444-4555-8666-777777777771';
const MiB = 1024 * 1024;

/** A log of two 1 MiB records; every encoding records the options the sink chose for it. */
function outgoing(sequence: number, data: Buffer[], chosen: (LogWriteOptions | undefined)[]): OutgoingLog {
  const header: LogHeaderInput = {
    vmId: VM,
    diskId: DISK,
    generation: 1,
    sequence,
    baseReferencePoint: sequence === 0 ? '' : `point-${sequence - 1}`,
    newReferencePoint: `point-${sequence}`,
    virtualSize: 16 * MiB,
    logicalSectorSize: 512,
    consistency: 'crash',
  };
  return {
    diskId: DISK,
    header,
    encode: (options) => {
      chosen.push(options);
      return encodeLog(header, data.map((d, i) => ({ type: 'data' as const, offset: i * MiB, data: d })), options);
    },
  };
}

/** What a primary of protocol 4–5 writes: it knows SHA-256 and BLAKE3 only, and takes BLAKE3 when the server lists it. */
const BEFORE_PROTOCOL_6: RecordHashAlgorithm[] = ['sha256', 'blake3'];

/** An uploader as an older primary's: the real one, with the record checksum chosen from the real hello by `knows`. */
function olderPrimaryUploader(uploader: Http2LogUploader, client: () => Promise<ReplicaClient>, knows: readonly RecordHashAlgorithm[]): LogUploader {
  return {
    upload: (source, signal) => uploader.upload(source, signal),
    recordHash: async () => {
      const replica = await client();
      try {
        return agreedRecordHash((await replica.hello()).LogRecordHashes, knows);
      } finally {
        await replica.close();
      }
    },
  };
}

async function deliverTo(host: ReplicaHost, sequence: number, primaryKnows?: readonly RecordHashAlgorithm[]): Promise<{ header: LogHeader; chosen: (LogWriteOptions | undefined)[] }> {
  const { primary } = await pki();
  const connect = () => ReplicaClient.connect({ serverName: REPLICA_NAME, port: host.port, address: '127.0.0.1' }, primary);
  const http2 = new Http2LogUploader(connect);
  const uploader = primaryKnows ? olderPrimaryUploader(http2, connect, primaryKnows) : http2;
  const spool = await mkdtemp(join(tmpdir(), 'hvr-spool-'));
  // The decorators an agent stacks pass the replica's answer through.
  const sink = new TransportSink({
    uploader: new RetryingUploader(new BandwidthLimitedUploader(uploader, new BandwidthSchedule()), { attempts: 2, backoffMs: () => 0 }),
    spoolDir: spool,
  });
  const data = [randomBytes(MiB), randomBytes(MiB)];
  const chosen: (LogWriteOptions | undefined)[] = [];
  try {
    await sink.deliver({ vmId: VM, generation: 1, sequence, logs: [outgoing(sequence, data, chosen)] });
  } finally {
    await http2.close();
    await rm(spool, { recursive: true, force: true });
  }
  const stored = await readFile(KeepingConsumer.keptPath(join(host.storageDir, 'a', 'hvreplica', VM), DISK, 1, sequence));
  let header: LogHeader | undefined;
  const got: Buffer[] = [];
  for await (const entry of decodeLog([stored])) {
    if (entry.kind === 'header') header = entry.header;
    if (entry.kind === 'record' && entry.record.type === 'data') got.push(entry.record.data);
  }
  assert.deepEqual(got, data, 'the replica keeps exactly what was sent');
  return { header: header!, chosen };
}

const BLAKE3_HERE = recordHashesWorthUsingHere().includes('blake3') ? 'blake3' : 'sha256';
const NAMES: Record<RecordHashAlgorithm, string> = { sha256: 'SHA-256 (version 2)', blake3: 'BLAKE3 (version 3)', xxh128: 'XXH3-128 (version 4)' };

for (const [offered, expected, olderExpected] of [
  [undefined, 'xxh128', BLAKE3_HERE], // a current server, as `server run` starts it
  [['sha256', 'blake3', 'xxh128'], 'xxh128', BLAKE3_HERE],
  [['sha256', 'xxh128'], 'xxh128', 'sha256'],
  [['sha256', 'blake3'], BLAKE3_HERE, BLAKE3_HERE], // a protocol 4–5 server
  [['sha256'], 'sha256', 'sha256'],
  [[], 'sha256', 'sha256'],
] as [RecordHashAlgorithm[] | undefined, RecordHashAlgorithm, RecordHashAlgorithm][]) {
  describe(`a replica server whose hello lists ${offered ? `[${offered.join(', ')}]` : 'what its CPU computes fast'}`, () => {
    let host: ReplicaHost;
    before(async () => {
      host = await startReplica(offered ? { logRecordHashes: offered } : {});
    });
    after(() => host.close());

    it(`is sent ${NAMES[expected]} logs, and verifies and keeps them`, async () => {
      const { header, chosen } = await deliverTo(host, 1);
      assert.equal(header.recordHash, expected);
      assert.equal(header.formatVersion, { sha256: 2, blake3: 3, xxh128: 4 }[expected]);
      assert.deepEqual(chosen, [{ recordHash: expected }], 'the sink chose once and told the encoder');
    });

    it(`is sent ${NAMES[olderExpected]} logs by a primary before protocol 6, and verifies and keeps them`, async () => {
      const { header, chosen } = await deliverTo(host, 2, BEFORE_PROTOCOL_6);
      assert.equal(header.recordHash, olderExpected);
      assert.deepEqual(chosen, [{ recordHash: olderExpected }]);
    });
  });
}

describe('a primary whose uploader cannot tell what the replica reads', () => {
  it('writes SHA-256 logs (every replica reads them)', async () => {
    const chosen: (LogWriteOptions | undefined)[] = [];
    const sink = new TransportSink({
      uploader: {
        recordHash: () => Promise.reject(new Error('hello failed')),
        upload: async (source) => {
          for await (const chunk of source.open(0)) void chunk;
          return { ReceivedBytes: 0, Accepted: true, Position: null, SentBytes: 0, Attempts: 1 };
        },
      },
      spoolDir: tmpdir(),
    });
    await sink.deliver({ vmId: VM, generation: 1, sequence: 0, logs: [outgoing(0, [randomBytes(4096)], chosen)] });
    assert.deepEqual(chosen, [{ recordHash: 'sha256' }]);
  });

  it('does not ask a replica when the delivery spools: writing the spool never waits for the replica (SHA-256)', async () => {
    let asked = 0;
    const chosen: (LogWriteOptions | undefined)[] = [];
    let spooledAt = -1;
    const sink = new TransportSink({
      uploader: {
        recordHash: async () => {
          asked += 1;
          return 'blake3';
        },
        upload: async (source) => {
          for await (const chunk of source.open(0)) void chunk;
          return { ReceivedBytes: 0, Accepted: true, Position: null, SentBytes: 0, Attempts: 1 };
        },
      },
      spoolDir: await mkdtemp(join(tmpdir(), 'hvr-spool-')),
      onSpooled: async () => {
        spooledAt = asked;
      },
    });
    await sink.deliver({ vmId: VM, generation: 1, sequence: 0, logs: [outgoing(0, [randomBytes(4096)], chosen)] });
    assert.deepEqual(chosen, [{ recordHash: 'sha256' }]);
    assert.equal(asked, 0, 'nothing was asked');
    assert.equal(spooledAt, 0);
  });

  it('does not ask a replica at all for a cycle without logs (no session left open)', async () => {
    let asked = 0;
    const sink = new TransportSink({
      uploader: {
        recordHash: async () => {
          asked += 1;
          return 'blake3';
        },
        upload: () => Promise.reject(new Error('no upload expected')),
      },
      spoolDir: tmpdir(),
    });
    const ack = await sink.deliver({ vmId: VM, generation: 1, sequence: 3, logs: [] });
    assert.equal(ack.logBytes, 0);
    assert.equal(asked, 0);
  });
});
