/**
 * A streamed upload (no declared length) that the primary cancels because its body failed (the encoder or
 * the comparison failed, another disk's upload stopped the cycle) is a cut, not a log: the replica keeps what
 * it received for the resume instead of taking the body for a whole log, refusing it and deleting it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { ReplicaClient } from '../../src/transport/index.js';
import { makeLog, pki, REPLICA_NAME, startReplica } from './fixtures.js';

const VM = '11111111-2222-4333-8444-555555555599';
const DISK = 'aaaaaaaa-bbbb-4ccc-8ddd-000000000099';
const MiB = 1024 * 1024;

describe('a streamed upload the primary cancels', () => {
  it('is kept by the replica for the resume, not refused as a truncated log', async () => {
    const { primary } = await pki();
    const host = await startReplica();
    const key = { vmId: VM, diskId: DISK, generation: 1, sequence: 1 };
    const log = await makeLog(key, randomBytes(2 * MiB));
    const uploadId = 'cd'.repeat(16);
    const connect = () => ReplicaClient.connect({ serverName: REPLICA_NAME, port: host.port, address: '127.0.0.1' }, primary);
    const client = await connect();
    try {
      const body = new Readable({ read() {} });
      body.push(log.subarray(0, MiB));
      // Cut once the replica has received what was pushed (a fixed delay was too short on a loaded machine).
      const cut = setInterval(() => {
        if (host.server.metrics.value('hvr_received_bytes_total') < MiB) return;
        clearInterval(cut);
        body.destroy(new Error('the encoder failed'));
      }, 20);
      await assert.rejects(client.put(key, { offset: 0, uploadId }, body), /reading the log failed: the encoder failed/);
      // The server learns of the reset asynchronously: ask until it has settled what it holds.
      let held = 0;
      for (let waited = 0; held === 0 && waited < 5_000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const status = await client.status(key, { uploadId });
        assert.equal(status.Accepted, false);
        held = status.ReceivedBytes;
      }
      assert.ok(held > 0 && held <= MiB, `what arrived is kept (${held} bytes)`);
      const done = await client.put(key, { offset: held, uploadId }, Readable.from([log.subarray(held)]));
      assert.equal(done.Accepted, true, 'and the upload resumes from there');
    } finally {
      client.destroy();
      await host.close();
    }
  });
});
