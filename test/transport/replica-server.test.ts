import { PROTOCOL_VERSION } from '../../src/transport/wire.js';
import { recordHashesWorthUsingHere } from '../../src/protocol/index.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import tls from 'node:tls';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KeepingConsumer } from './keeping-consumer.js';
import type { HostCredential } from '../../src/security/index.js';
import {
  bufferLogSource,
  Http2LogUploader,
  type LogUploader,
  ReplicaClient,
  RetryingUploader,
  SESSION_WINDOW_BYTES,
  STREAM_WINDOW_BYTES,
  testReplicationConnection,
  TransportError,
  uploadAll,
  type LogSource,
} from '../../src/transport/index.js';
import { freePort } from '../../src/demo/server-process.js';
import { startCuttingProxy } from './cutting-proxy.js';
import { makeLog, pki, PRIMARY_NAME, REPLICA_NAME, startReplica, type ReplicaHost } from './fixtures.js';

const VM = '11111111-2222-4333-8444-555555555555';
const DISK = (n: number) => `aaaaaaaa-bbbb-4ccc-8ddd-${String(n).padStart(12, '0')}`;

function endpoint(port: number) {
  return { serverName: REPLICA_NAME, port, address: '127.0.0.1' };
}

async function expectTransportError(promise: Promise<unknown>, code: string): Promise<TransportError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof TransportError, `expected TransportError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, but the call succeeded`);
}

/** A raw HTTP/2 GET with whatever TLS identity (or none) the test gives. */
async function rawGet(port: number, path: string, identity?: HostCredential): Promise<{ status: number; body: string }> {
  const { ca } = await pki();
  const material = identity?.material as { certificatePem: string; privateKeyPem: string } | undefined;
  const session = http2.connect(`https://${REPLICA_NAME}:${port}`, {
    host: '127.0.0.1',
    servername: REPLICA_NAME,
    ca: [ca.certificatePem],
    ...(material ? { cert: material.certificatePem, key: material.privateKeyPem } : {}),
    checkServerIdentity: () => undefined,
  } as http2.SecureClientSessionOptions);
  try {
    return await new Promise((resolve, reject) => {
      session.on('error', reject);
      const stream = session.request({ ':method': 'GET', ':path': path });
      let status = 0;
      let body = '';
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => (body += d));
      stream.on('end', () => resolve({ status, body }));
      stream.on('error', reject);
    });
  } finally {
    session.destroy();
  }
}

describe('replica server over HTTP/2 + TLS 1.3 with mutual certificates', () => {
  let host: ReplicaHost;
  before(async () => {
    host = await startReplica();
  });
  after(async () => {
    await host.close();
  });

  it('answers the liveness probe without a client certificate and nothing else', async () => {
    assert.deepEqual(await rawGet(host.port, '/healthz'), { status: 200, body: 'ok\n' });
    for (const path of ['/v1/hello', '/metrics', `/v1/logs/${VM}/${DISK(1)}/1/1`, '/nothing']) {
      const answer = await rawGet(host.port, path);
      assert.equal(answer.status, 401, path);
      assert.equal(JSON.parse(answer.body).error.code, 'ERR_CERTIFICATE_REQUIRED');
    }
  });

  it('identifies an authorized primary by its certificate DNS name', async () => {
    const { primary } = await pki();
    const hello = await testReplicationConnection(endpoint(host.port), primary);
    assert.deepEqual(hello, {
      ProtocolVersion: PROTOCOL_VERSION,
      ReplicaServerName: REPLICA_NAME,
      PrimaryServerName: PRIMARY_NAME,
      TrustGroup: 'tenant-a',
      LogRecordHashes: recordHashesWorthUsingHere(),
    });
  });

  it('matches *.domain entries', async () => {
    const { tenantB } = await pki();
    const hello = await testReplicationConnection(endpoint(host.port), tenantB);
    assert.equal(hello.TrustGroup, 'tenant-b');
    assert.equal(hello.PrimaryServerName, 'hv1.tenant-b.test');
  });

  it('refuses a primary whose certificate comes from an unknown CA', async () => {
    const { rogue } = await pki();
    const error = await expectTransportError(testReplicationConnection(endpoint(host.port), rogue), 'ERR_UNAUTHORIZED');
    assert.match(error.message, /not trusted/);
    assert.equal(error.exitCode, 5);
  });

  it('refuses a trusted primary whose name matches no authorization entry', async () => {
    const { stranger } = await pki();
    const error = await expectTransportError(testReplicationConnection(endpoint(host.port), stranger), 'ERR_UNAUTHORIZED');
    assert.match(error.message, /stranger\.elsewhere\.test is not authorized/);
    assert.match(error.message, /auth add/);
  });

  it('refuses a replica server whose certificate does not carry the name asked for', async () => {
    const { primary } = await pki();
    await expectTransportError(testReplicationConnection({ serverName: 'other.hvr.test', port: host.port, address: '127.0.0.1' }, primary), 'ERR_UNAUTHORIZED');
  });

  it('connects ahead of the first upload on one session, and a close while still connecting leaves none open', async () => {
    const { primary } = await pki();
    const made: ReplicaClient[] = [];
    const connect = async () => {
      const client = await ReplicaClient.connect(endpoint(host.port), primary);
      made.push(client);
      return client;
    };
    const key = { vmId: VM, diskId: DISK(7), generation: 1, sequence: 1 };
    const log = await makeLog(key, randomBytes(64 * 1024));
    const ahead = new Http2LogUploader(connect);
    ahead.connectAhead();
    try {
      assert.equal((await ahead.upload(bufferLogSource(log, key))).Accepted, true);
      assert.equal(made.length, 1, 'the upload used the session connected ahead');
    } finally {
      await ahead.close();
    }
    assert.equal(made[0]!.closed, true);
    const closedAtOnce = new Http2LogUploader(connect);
    closedAtOnce.connectAhead();
    await closedAtOnce.close();
    assert.equal(made.length, 2);
    assert.equal(made[1]!.closed, true, 'the session that was still connecting is closed too');
  });

  it('leaves a failed connect ahead to the upload, which connects again and reports its own failure', async () => {
    const { primary } = await pki();
    let attempts = 0;
    const uploader = new Http2LogUploader(async () => {
      attempts += 1;
      // The first connect (ahead) finds nobody listening; the upload's own connect reaches the replica.
      return ReplicaClient.connect(endpoint(attempts === 1 ? await freePort() : host.port), primary);
    });
    const key = { vmId: VM, diskId: DISK(8), generation: 1, sequence: 1 };
    uploader.connectAhead();
    try {
      // Let the connect ahead fail before the upload asks for the session.
      while (attempts < 1) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal((await uploader.upload(bufferLogSource(await makeLog(key, randomBytes(4096)), key))).Accepted, true);
      assert.equal(attempts, 2);
    } finally {
      await uploader.close();
    }
  });

  it('asks the replica both questions of a streamed upload (this upload, any log of its sequence) at once', async () => {
    const { primary } = await pki();
    let inFlight = 0;
    let most = 0;
    const uploader = new Http2LogUploader(async () => {
      const client = await ReplicaClient.connect(endpoint(host.port), primary);
      const status = client.status.bind(client);
      client.status = async (...args) => {
        most = Math.max(most, (inFlight += 1));
        try {
          return await status(...args);
        } finally {
          inFlight -= 1;
        }
      };
      return client;
    });
    const key = { vmId: VM, diskId: DISK(9), generation: 1, sequence: 1 };
    const log = await makeLog(key, randomBytes(64 * 1024));
    // Its length and hash not known yet: the replica is asked about this upload and about the sequence.
    const streamed: LogSource = { ...bufferLogSource(log, key), complete: () => undefined };
    try {
      assert.equal((await uploader.upload(streamed)).Accepted, true);
      assert.equal(most, 2, 'both status requests were in flight together');
    } finally {
      await uploader.close();
    }
  });

  it('accepts a log, stores it in incoming/ and advances the position', async () => {
    const { primary } = await pki();
    const key = { vmId: VM, diskId: DISK(1), generation: 1, sequence: 1 };
    const log = await makeLog(key, randomBytes(300 * 1024));
    const uploader = new Http2LogUploader(() => ReplicaClient.connect(endpoint(host.port), primary));
    try {
      const result = await uploader.upload(bufferLogSource(log, key));
      assert.equal(result.Accepted, true);
      assert.equal(result.Position, '1/1@0');
      assert.equal(result.SentBytes, log.length);
      const again = await uploader.upload(bufferLogSource(log, key));
      assert.equal(again.SentBytes, 0, 'an accepted log is not sent twice');
    } finally {
      await uploader.close();
    }
    const vmDir = join(host.storageDir, 'a', 'hvreplica', VM);
    assert.deepEqual(await readFile(KeepingConsumer.keptPath(vmDir, DISK(1), 1, 1)), log);
    assert.equal((await new KeepingConsumer().position(vmDir, DISK(1))).toString(), '1/1@0');
  });

  it('offers upload windows far above HTTP/2\'s 64 KiB default, per stream and per session', async () => {
    const { ca } = await pki();
    const session = http2.connect(`https://${REPLICA_NAME}:${host.port}`, {
      host: '127.0.0.1',
      servername: REPLICA_NAME,
      ca: [ca.certificatePem],
      checkServerIdentity: () => undefined,
    } as http2.SecureClientSessionOptions);
    try {
      await new Promise<void>((resolve, reject) => {
        session.once('error', reject);
        session.once('remoteSettings', () => resolve());
      });
      assert.equal(session.remoteSettings.initialWindowSize, STREAM_WINDOW_BYTES);
      // The session window arrives as a WINDOW_UPDATE right after the settings; give it a round trip.
      await new Promise<void>((resolve) => session.ping(() => resolve()));
      assert.equal(session.state.remoteWindowSize, SESSION_WINDOW_BYTES);
    } finally {
      session.destroy();
    }
  });

  it('resumes an upload cut mid-stream from the bytes the server holds', async () => {
    const { primary } = await pki();
    const key = { vmId: VM, diskId: DISK(2), generation: 1, sequence: 1 };
    // The server's stream window (STREAM_WINDOW_BYTES) is what a primary may send beyond what the server
    // has read, and a cut loses what was unread: cut well past one window so that some bytes are held.
    const log = await makeLog(key, randomBytes(3 * STREAM_WINDOW_BYTES));
    const proxy = await startCuttingProxy(host.port, 2 * STREAM_WINDOW_BYTES);
    const offsets: number[] = [];
    const source = bufferLogSource(log, key);
    const spied: LogSource = { ...source, open: (offset) => (offsets.push(offset), source.open(offset)) };
    const uploader = new Http2LogUploader(() => ReplicaClient.connect({ ...endpoint(proxy.port) }, primary));
    const retrying = new RetryingUploader(uploader, { attempts: 3, backoffMs: () => 0 });
    try {
      const result = await retrying.upload(spied);
      assert.equal(proxy.cuts, 1);
      assert.equal(result.Accepted, true);
      assert.equal(result.Attempts, 2);
      assert.equal(offsets.length, 2);
      assert.equal(offsets[0], 0);
      assert.ok(offsets[1]! > 0 && offsets[1]! < log.length, `resumed at ${offsets[1]}`);
      assert.ok(result.SentBytes < 2 * log.length);
      // The cut attempt's bytes went over the wire too: they count, so the total is at least the log.
      assert.ok(result.SentBytes >= log.length, `${result.SentBytes} bytes counted for a ${log.length}-byte log`);
    } finally {
      await uploader.close();
      await proxy.close();
    }
    const stored = await readFile(KeepingConsumer.keptPath(join(host.storageDir, 'a', 'hvreplica', VM), DISK(2), 1, 1));
    assert.ok(stored.equals(log), 'the resumed log is byte-identical');
  });

  it('ends a session whose connection went silent mid-upload and resumes on a new one', async () => {
    const { primary } = await pki();
    const key = { vmId: VM, diskId: DISK(12), generation: 1, sequence: 1 };
    const log = await makeLog(key, randomBytes(3 * STREAM_WINDOW_BYTES));
    // No reset, no close: the proxy just stops passing bytes both ways, as a dropped NAT entry would.
    const proxy = await startCuttingProxy(host.port, 2 * STREAM_WINDOW_BYTES, { silent: true });
    const offsets: number[] = [];
    const source = bufferLogSource(log, key);
    const spied: LogSource = { ...source, open: (offset) => (offsets.push(offset), source.open(offset)) };
    const liveness = { intervalMs: 50, timeoutMs: 400 };
    const uploader = new Http2LogUploader(() => ReplicaClient.connect({ ...endpoint(proxy.port) }, primary, { liveness }));
    const failures: string[] = [];
    const watched: LogUploader = {
      upload: (s, signal) => uploader.upload(s, signal).catch((error: Error) => {
        failures.push(error.message);
        throw error;
      }),
    };
    const retrying = new RetryingUploader(watched, { attempts: 3, backoffMs: () => 0 });
    try {
      const result = await retrying.upload(spied);
      assert.equal(proxy.cuts, 1, 'the first connection went silent');
      assert.equal(result.Accepted, true);
      assert.equal(result.Attempts, 2, 'one more attempt on a new connection');
      assert.equal(offsets[0], 0);
      assert.ok(offsets[1]! > 0 && offsets[1]! < log.length, `resumed at ${offsets[1]}`);
      assert.match(failures.join('\n'), /has not answered .*the connection is dead/, `the failed attempt says the connection died: ${failures.join('; ')}`);
    } finally {
      await uploader.close();
      await proxy.close();
    }
    const stored = await readFile(KeepingConsumer.keptPath(join(host.storageDir, 'a', 'hvreplica', VM), DISK(12), 1, 1));
    assert.ok(stored.equals(log), 'the resumed log is byte-identical');
  });

  it('keeps a healthy upload on a slow link alive while its pings wait behind the data', async () => {
    const { primary } = await pki();
    const key = { vmId: VM, diskId: DISK(13), generation: 1, sequence: 1 };
    const log = await makeLog(key, randomBytes(STREAM_WINDOW_BYTES + STREAM_WINDOW_BYTES / 2));
    // 2 MiB/s with a stream window (4 MiB) of data queued ahead of a ping: its answer takes about 2 s, longer
    // than the timeout; the upload is alive all the same, because its bytes keep moving (a window update
    // about every second).
    const proxy = await startCuttingProxy(host.port, Number.MAX_SAFE_INTEGER, { bytesPerSecond: 2 * 1024 * 1024 });
    const liveness = { intervalMs: 100, timeoutMs: 1500 };
    const uploader = new Http2LogUploader(() => ReplicaClient.connect({ ...endpoint(proxy.port) }, primary, { liveness }));
    try {
      const result = await uploader.upload(bufferLogSource(log, key));
      assert.equal(result.Accepted, true, 'accepted on its first attempt: the session was never counted dead');
    } finally {
      await uploader.close();
      await proxy.close();
    }
  });

  it('keeps an upload open while the server stores and applies it for longer than the idle limit', async () => {
    const { primary } = await pki();
    const slow = await startReplica({ idleTimeoutMs: 300, consumeDelayMs: 1500 });
    const key = { vmId: VM, diskId: DISK(9), generation: 1, sequence: 1 };
    const log = await makeLog(key, randomBytes(256 * 1024));
    const uploader = new Http2LogUploader(() => ReplicaClient.connect(endpoint(slow.port), primary));
    try {
      // No retry layer: a stream cancelled during the apply would fail this upload.
      const result = await uploader.upload(bufferLogSource(log, key));
      assert.equal(result.Accepted, true);
      assert.equal(result.SentBytes, log.length);
    } finally {
      await uploader.close();
      await slow.close();
    }
  });

  it('detects a flipped bit, rejects the log and never accepts it', async () => {
    const { primary } = await pki();
    const key = { vmId: VM, diskId: DISK(3), generation: 1, sequence: 1 };
    const data = randomBytes(200 * 1024);
    const log = await makeLog(key, data);
    const corrupt = Buffer.from(log);
    const at = corrupt.indexOf(data.subarray(0, 64)) + 5000;
    corrupt[at] = corrupt[at]! ^ 0x04;
    const uploader = new Http2LogUploader(() => ReplicaClient.connect(endpoint(host.port), primary));
    const vmDir = join(host.storageDir, 'a', 'hvreplica', VM);
    try {
      const error = await expectTransportError(uploader.upload(bufferLogSource(corrupt, key)), 'ERR_LOG_CHECKSUM');
      assert.equal(error.retryable, false);
      assert.equal(error.status, 422);
      const status = await (await ReplicaClient.connect(endpoint(host.port), primary)).status(key);
      assert.deepEqual(status, { ReceivedBytes: 0, Accepted: false, Position: null });
      assert.deepEqual(await readdir(join(vmDir, 'uploads', DISK(3))), [], 'nothing of the corrupt log remains');
      assert.ok((await new KeepingConsumer().position(vmDir, DISK(3))).isZero());
      const good = await uploader.upload(bufferLogSource(log, key));
      assert.equal(good.Accepted, true, 'the intact log is then accepted');
    } finally {
      await uploader.close();
    }
  });

  it('refuses a log that does not follow the replica position', async () => {
    const { primary } = await pki();
    const key = { vmId: VM, diskId: DISK(1), generation: 1, sequence: 3 };
    const uploader = new Http2LogUploader(() => ReplicaClient.connect(endpoint(host.port), primary));
    try {
      const error = await expectTransportError(uploader.upload(bufferLogSource(await makeLog(key, randomBytes(4096)), key)), 'ERR_INVALID_STATE');
      assert.match(error.message, /does not follow the replica's position 1\/1/);
    } finally {
      await uploader.close();
    }
  });

  it('keeps a replica VM to the trust group that created it', async () => {
    const { tenantB } = await pki();
    const key = { vmId: VM, diskId: DISK(9), generation: 1, sequence: 1 };
    const uploader = new Http2LogUploader(() => ReplicaClient.connect(endpoint(host.port), tenantB));
    try {
      const error = await expectTransportError(uploader.upload(bufferLogSource(await makeLog(key, randomBytes(4096)), key)), 'ERR_UNAUTHORIZED');
      assert.match(error.message, /trust group "tenant-a"/);
    } finally {
      await uploader.close();
    }
  });

  it('uploads several logs of one VM in parallel streams', async () => {
    const { primary } = await pki();
    const keys = [4, 5, 6, 7].map((n) => ({ vmId: VM, diskId: DISK(n), generation: 2, sequence: 1 }));
    const sources = await Promise.all(keys.map(async (key) => bufferLogSource(await makeLog(key, randomBytes(256 * 1024)), key)));
    const uploader = new Http2LogUploader(() => ReplicaClient.connect(endpoint(host.port), primary));
    try {
      const results = await uploadAll(uploader, sources, 4);
      assert.deepEqual(results.map((r) => r.Position), ['2/1@0', '2/1@0', '2/1@0', '2/1@0']);
    } finally {
      await uploader.close();
    }
  });

  it('refuses paths that are not validated ids', async () => {
    const { primary } = await pki();
    for (const path of ['/v1/logs/../../etc/passwd', `/v1/logs/${VM}/..%2f..%2fx/1/1`, `/v1/logs/${VM}/${DISK(1)}/1/-1`, `/v1/logs/NOT-A-GUID/${DISK(1)}/1/1`]) {
      const answer = await rawGet(host.port, path, primary);
      assert.equal(answer.status, 404, path);
    }
  });

  it('publishes Prometheus metrics to a trusted client', async () => {
    const { primary } = await pki();
    const answer = await rawGet(host.port, '/metrics', primary);
    assert.equal(answer.status, 200);
    assert.match(answer.body, /# TYPE hvr_logs_accepted_total counter/);
    const accepted = Number(/^hvr_logs_accepted_total (\d+)$/m.exec(answer.body)?.[1]);
    assert.ok(accepted >= 3, `accepted ${accepted}`);
    assert.match(answer.body, /hvr_logs_rejected_total\{code="ERR_LOG_CHECKSUM"\} 1/);
    assert.match(answer.body, /hvr_refused_total\{reason="authorization"\} \d+/);
  });

  it('counts a request refused for an unreadable tombstone apart from the removed relationships', async () => {
    const { primary } = await pki();
    const other = '11111111-2222-4333-8444-666666666666';
    await mkdir(join(host.stateDir, 'replica', 'removed'), { recursive: true });
    await writeFile(join(host.stateDir, 'replica', 'removed', `${other}.json`), '{ not json');
    const refusedAnswer = await rawGet(host.port, `/v1/logs/${other}/${DISK(1)}/1/1`, primary);
    assert.notEqual(refusedAnswer.status, 200);
    const answer = await rawGet(host.port, '/metrics', primary);
    assert.match(answer.body, /hvr_refused_total\{reason="admission"\} 1/);
    assert.doesNotMatch(answer.body, /hvr_refused_total\{reason="removed"\}/);
  });

  it('speaks nothing older than TLS 1.3', async () => {
    const { ca } = await pki();
    const error = await new Promise<Error>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: host.port, servername: REPLICA_NAME, ca: [ca.certificatePem], maxVersion: 'TLSv1.2', ALPNProtocols: ['h2'] });
      socket.once('secureConnect', () => resolve(new Error('connected with TLS 1.2')));
      socket.once('error', resolve);
    });
    assert.match(error.message, /version|protocol/i);
  });
});

describe('request rate limit', () => {
  let host: ReplicaHost;
  before(async () => {
    host = await startReplica({ requestsPerSecond: 1, now: () => 0 });
  });
  after(async () => {
    await host.close();
  });

  it('answers 429 once a peer exceeds its burst', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await rawGet(host.port, '/healthz')).status);
    // Burst of 2 at 1 request/s, with the limiter's clock frozen: exactly two pass.
    assert.deepEqual(statuses, [200, 200, 429, 429]);
  });
});

