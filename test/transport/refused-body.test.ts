/**
 * A replica that refuses an upload after reading part of its body (bytes that are no log here; a full disk or a VM
 * that failed over do the same) must also tell the primary to stop sending: RST_STREAM NO_ERROR after its answer
 * (RFC 9113 §8.1). Node closes a server stream that way by itself only when nothing of its body was read.
 * Otherwise the unread bytes fill the stream's and the session's windows and a primary that keeps writing (one
 * older than the reset on the primary's side) waits for the server's idle limit, here set far beyond the test's
 * own timeout.
 */
import assert from 'node:assert/strict';
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { describe, it } from 'node:test';
import { tlsOptions } from '../../src/security/index.js';
import { HEADER_OFFSET, HEADER_UPLOAD_ID, logPath } from '../../src/transport/wire.js';
import { makeLog, pki, REPLICA_NAME, startReplica } from './fixtures.js';

const VM = '11111111-2222-4333-8444-555555555581';
const MiB = 1024 * 1024;
/** Far more than the stream's (4 MiB) and the session's (8 MiB) windows. */
const BODY_MIB = 64;

function diskKey(disk: number) {
  return { vmId: VM, diskId: `aaaaaaaa-bbbb-4ccc-8ddd-${String(disk).padStart(12, '0')}`, generation: 1, sequence: 1 };
}

interface RefusedOutcome {
  status: number;
  rstCode: number;
  mibWritten: number;
}

/** Writes up to BODY_MIB without ever ending the body, as a primary whose log is still being encoded would. */
function uploadThatKeepsWriting(session: ClientHttp2Session, disk: number): Promise<RefusedOutcome> {
  const stream: ClientHttp2Stream = session.request({
    ':method': 'PUT',
    ':path': logPath(diskKey(disk)),
    [HEADER_OFFSET]: '0',
    [HEADER_UPLOAD_ID]: 'ab'.repeat(16),
  });
  let status = 0;
  let mibWritten = 0;
  stream.on('response', (headers) => (status = Number(headers[':status'])));
  stream.on('error', () => undefined);
  stream.resume();
  const write = () => {
    while (!stream.closed && mibWritten < BODY_MIB) {
      mibWritten += 1;
      // Not a log: the replica reads the first bytes, finds no log header and refuses.
      if (!stream.write(Buffer.alloc(MiB, mibWritten))) return void stream.once('drain', write);
    }
  };
  write();
  return new Promise((resolve) => stream.once('close', () => resolve({ status, rstCode: stream.rstCode ?? -1, mibWritten })));
}

describe('an upload refused while its body is read', () => {
  it('is reset with NO_ERROR after the answer, so the primary stops sending and the session stays usable', { timeout: 120_000 }, async () => {
    const { primary } = await pki();
    const host = await startReplica({ idleTimeoutMs: 30 * 60_000 });
    const session = http2.connect(`https://127.0.0.1:${host.port}`, { ...tlsOptions(primary), servername: REPLICA_NAME, minVersion: 'TLSv1.3' });
    session.on('error', () => undefined);
    try {
      const outcomes = await Promise.all([uploadThatKeepsWriting(session, 1), uploadThatKeepsWriting(session, 2)]);
      for (const outcome of outcomes) {
        assert.equal(outcome.status, 422, 'bytes that are no log are refused');
        assert.equal(outcome.rstCode, http2.constants.NGHTTP2_NO_ERROR, 'the server closed the stream without error');
        assert.ok(outcome.mibWritten < BODY_MIB, `the primary was stopped before it had written its whole body (${outcome.mibWritten} MiB)`);
      }

      // The windows the refused bodies held are free again: a whole log still goes through the same session.
      const key = diskKey(3);
      const log = await makeLog(key, Buffer.alloc(3 * MiB, 7));
      const accepted = await new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':method': 'PUT', ':path': logPath(key), [HEADER_OFFSET]: '0', [HEADER_UPLOAD_ID]: 'cd'.repeat(16) });
        let text = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => (text += chunk));
        stream.on('end', () => resolve(text));
        stream.on('error', reject);
        stream.end(log);
      });
      assert.equal((JSON.parse(accepted) as { Accepted: boolean }).Accepted, true, accepted);
    } finally {
      session.close();
      await host.close();
    }
  });
});
