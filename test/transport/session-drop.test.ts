/**
 * The uploader drops its session when an upload fails retryably (log-uploader.ts), at once, in the rejection's
 * continuation, while another disk's upload may still be streaming into the same session. Node's HTTP/2 (seen
 * on 20.20) corrupts its heap when a session is destroyed from inside the processing of a stream's answer:
 * the process later aborted with "corrupted size vs. prev_size" (the disk-full e2e test, about one run in three).
 * Many rounds of exactly that must leave this process healthy: any heap corruption aborts the test file.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { ReplicaClient, TransportError } from '../../src/transport/index.js';
import { pki, REPLICA_NAME, startReplica } from './fixtures.js';

const VM = '11111111-2222-4333-8444-555555555598';
const MiB = 1024 * 1024;
const ROUNDS = 100;

/** A body much larger than the session's window, so its writes are still queued when the answer comes. */
function largeBody(): Readable {
  let sent = 0;
  return new Readable({
    read() {
      sent += 1;
      this.push(sent > 16 ? null : Buffer.alloc(MiB, sent));
    },
  });
}

describe('a session dropped while uploads stream into it', () => {
  it('leaves the process healthy after many rounds (the drop happens after the stream answer is processed)', async () => {
    const { primary } = await pki();
    const host = await startReplica();
    try {
      let refused = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const client = await ReplicaClient.connect({ serverName: REPLICA_NAME, port: host.port, address: '127.0.0.1' }, primary);
        const upload = (disk: number) => {
          const key = { vmId: VM, diskId: `aaaaaaaa-bbbb-4ccc-8ddd-${String(disk).padStart(12, '0')}`, generation: 1, sequence: 1 };
          // A wrong offset: the replica answers at once, without reading the body, as it does for a full volume.
          return client.put(key, { offset: 5 * MiB, uploadId: 'ab'.repeat(16) }, largeBody()).catch((error: unknown) => {
            // As the uploader does: a failed upload drops its session, in the rejection's own continuation.
            client.destroy();
            if (error instanceof TransportError) refused += 1;
          });
        };
        await Promise.all([upload(1), upload(2)]);
        assert.equal(client.closed, true, 'the dropped client reports itself closed at once');
      }
      assert.equal(refused, 2 * ROUNDS, 'every upload ended with a transport error');
    } finally {
      await host.close();
    }
  });

  // A cycle's uploads share one cancel: the first refusal cancels the sibling, in the refusal's continuation,
  // while the sibling's body still streams. Resetting the sibling there (RST_STREAM other than CANCEL, as a cut
  // body needs) corrupted the heap the same way: failover-net/replica-failover, the split-brain refusal of a
  // two-disk VM, about one run in 20 under load; node:http2 alone, with a peer that answers from inside its data
  // handler as this one does, about one round in 200 to 300. Through ReplicaClient it did not show in 1800 rounds
  // here, so this test guards the path's behaviour (every upload ends, refused or cancelled with the cycle's
  // reason); the loop of that e2e test showed the fix.
  it('leaves the process healthy when a refusal mid-body cancels the sibling upload', async () => {
    const { primary } = await pki();
    const peer = await refusingPeer();
    try {
      const outcomes = { refused: 0, cancelled: 0 };
      for (let round = 0; round < ROUNDS; round++) {
        const client = await ReplicaClient.connect({ serverName: REPLICA_NAME, port: peer.port, address: '127.0.0.1' }, primary);
        const cycle = new AbortController();
        const upload = (disk: number) => {
          const key = { vmId: VM, diskId: `aaaaaaaa-bbbb-4ccc-8ddd-${String(disk).padStart(12, '0')}`, generation: 1, sequence: 1 };
          return client.put(key, { offset: 0, uploadId: 'cd'.repeat(16) }, largeBody(), cycle.signal).catch((error: unknown) => {
            if (cycle.signal.aborted && error === cycle.signal.reason) outcomes.cancelled += 1;
            else if (error instanceof TransportError && error.code === 'ERR_INVALID_STATE') outcomes.refused += 1;
            cycle.abort(new Error('a sibling upload failed'));
          });
        };
        await Promise.all([upload(REFUSED_AT_3_MIB), upload(REFUSED_AT_5_MIB)]);
        client.destroy();
      }
      assert.equal(outcomes.refused + outcomes.cancelled, 2 * ROUNDS, 'every upload ended refused or cancelled');
      assert.ok(outcomes.cancelled > 0, 'siblings were cancelled while their bodies streamed');
    } finally {
      await peer.close();
    }
  });
});

const REFUSED_AT_3_MIB = 3;
const REFUSED_AT_5_MIB = 5;

/**
 * A bare HTTP/2 peer with the replica's certificate that refuses each upload (HTTP 409) once it has read as many
 * MiB as the disk id's last digits say, from inside the handler of the chunk that crossed it.
 */
async function refusingPeer(): Promise<{ port: number; close(): Promise<void> }> {
  const { replica, ca } = await pki();
  const material = replica.material as { certificatePem: string; privateKeyPem: string };
  const server = http2.createSecureServer({ key: material.privateKeyPem, cert: material.certificatePem, ca: [ca.certificatePem], settings: { initialWindowSize: 8 * MiB } });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const limit = Number(/(\d+)\/\d+\/\d+$/.exec(String(headers[':path']))?.[1]?.slice(-1) ?? 1) * MiB;
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= limit) return;
      stream.off('data', onData);
      stream.pause();
      stream.respond({ ':status': 409, 'content-type': 'application/json' });
      stream.end(JSON.stringify({ error: { code: 'ERR_INVALID_STATE', message: 'refused by the test peer' } }));
    };
    stream.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}
