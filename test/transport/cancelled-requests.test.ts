/**
 * A cycle cancelled (suspend, initial stop, service stop) while it waits for a replica server that stopped
 * answering ends at once with the cancel's reason, whatever it waits for: the connection, the hello, a
 * status, a definition, an upload's body (held up by flow control) or the answer after it. Without the cancel
 * it would wait for the session's liveness check (here 60 s: a request ended by it says so in its error).
 * The uploader a cycle closes afterwards closes at once too, not when the silent server would let it; a client
 * closed without any cancel ends its session after the liveness limit.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { REPLICA_VM_FORMAT_VERSION, type ReplicaVmDefinition } from '../../src/protocol/index.js';
import { bufferLogSource, Http2LogUploader, ReplicaClient, TransportError, type ReplicaEndpoint } from '../../src/transport/index.js';
import type { HostCredential } from '../../src/security/index.js';
import { makeLog, pki, REPLICA_NAME, startReplica, type ReplicaHost } from './fixtures.js';
import { startFreezingProxy } from './freezing-proxy.js';

const VM = '11111111-2222-4333-8444-5555555555a1';
const DISK = 'aaaaaaaa-bbbb-4ccc-8ddd-0000000000a1';
const MiB = 1024 * 1024;
const LIVENESS = { intervalMs: 1000, timeoutMs: 60_000 };
const key = { vmId: VM, diskId: DISK, generation: 1, sequence: 1 };
const definition: ReplicaVmDefinition = {
  FormatVersion: REPLICA_VM_FORMAT_VERSION,
  VMId: VM,
  VMName: 'cancelled',
  Disks: [{ DiskId: DISK, VirtualSize: 256 * MiB, LogicalSectorSize: 512 }],
  RecoveryHistory: 0,
  VSSSnapshotFrequencyHour: 0,
  ReplicationFrequencySec: 300,
  Configuration: {},
};

/** A few turns of the event loop: the request is out (or stuck on the way). */
async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

describe('a request to a replica server that stopped answering', () => {
  let host: ReplicaHost;
  let primary: HostCredential;
  before(async () => {
    host = await startReplica();
    primary = (await pki()).primary;
  });
  after(async () => {
    await host.close();
  });

  /** A client through its own proxy, frozen before `call` starts (or, with `answersOnly`, only on the way back). */
  async function cancelledWhileFrozen(call: (client: ReplicaClient, signal: AbortSignal) => Promise<unknown>, options: { answersOnly?: boolean; cancelWhen?: Promise<unknown> } = {}) {
    const proxy = await startFreezingProxy(host.port);
    const client = await ReplicaClient.connect({ serverName: REPLICA_NAME, port: proxy.port, address: '127.0.0.1' }, primary, { liveness: LIVENESS });
    try {
      if (options.answersOnly) proxy.freezeAnswers();
      else proxy.freeze();
      const controller = new AbortController();
      const reason = new Error('suspended');
      const pending = call(client, controller.signal);
      pending.catch(() => undefined);
      await (options.cancelWhen ?? turns());
      controller.abort(reason);
      await assert.rejects(pending, (error) => error === reason);
      // A cancelled request's session is ended by close(), not closed gracefully (which would wait for the server).
      await client.close();
      assert.equal(client.closed, true);
    } finally {
      client.destroy();
      await proxy.close();
    }
  }

  for (const [name, call] of [
    ['hello', (client, signal) => client.hello(signal)],
    ['the record checksum (its hello)', (client, signal) => client.recordHash(signal)],
    ['a status', (client, signal) => client.status(key, {}, signal)],
    ['the content', (client, signal) => client.content(VM, signal)],
    ['a VM definition', (client, signal) => client.defineVm(definition, signal)],
    ['a seed from a backup', (client, signal) => client.seedFromBackup(definition, signal)],
    ['an upload whose body waits for flow control', (client, signal) => client.put(key, { offset: 0 }, Readable.from([randomBytes(16 * MiB)]), signal)],
  ] as const satisfies ReadonlyArray<readonly [string, (client: ReplicaClient, signal: AbortSignal) => Promise<unknown>]>) {
    it(`ends at its cancel: ${name}`, async () => {
      await cancelledWhileFrozen(call);
    });
  }

  it('ends at its cancel: an upload whose body was sent, waiting for the answer', async () => {
    const log = await makeLog(key, randomBytes(MiB));
    let sent!: () => void;
    const bodySent = new Promise<void>((resolve) => (sent = resolve));
    await cancelledWhileFrozen(
      (client, signal) => {
        const body = Readable.from([log]);
        body.once('end', sent);
        return client.put(key, { offset: 0, totalLength: log.length }, body, signal);
      },
      { answersOnly: true, cancelWhen: bodySent.then(() => turns()) },
    );
  });

  it('ends at its cancel: the connection', async () => {
    const proxy = await startFreezingProxy(host.port);
    try {
      proxy.freeze();
      const controller = new AbortController();
      const reason = new Error('suspended');
      const connecting = ReplicaClient.connect({ serverName: REPLICA_NAME, port: proxy.port, address: '127.0.0.1' }, primary, { connectTimeoutMs: 60_000, signal: controller.signal });
      await turns();
      controller.abort(reason);
      await assert.rejects(connecting, (error) => error === reason);
    } finally {
      await proxy.close();
    }
  });

  for (const stage of ['connect', 'status', 'body'] as const) {
    it(`ends an uploader's upload at its cancel, and its close does not wait for the server (frozen at: ${stage})`, async () => {
      const proxy = await startFreezingProxy(host.port);
      const endpoint: ReplicaEndpoint = { serverName: REPLICA_NAME, port: proxy.port, address: '127.0.0.1' };
      const uploader = new Http2LogUploader((closing) => ReplicaClient.connect(endpoint, primary, { connectTimeoutMs: 60_000, liveness: LIVENESS, signal: closing }));
      try {
        if (stage === 'connect') proxy.freeze();
        else await uploader.recordHash();
        if (stage === 'status') proxy.freeze();
        const log = await makeLog({ ...key, sequence: stage === 'body' ? 3 : 2 }, randomBytes(16 * MiB));
        const source = bufferLogSource(log, { ...key, sequence: stage === 'body' ? 3 : 2 });
        let opened!: () => void;
        const bodyOpened = new Promise<void>((resolve) => (opened = resolve));
        const controller = new AbortController();
        const reason = new Error('service stopping');
        const uploading = uploader.upload({ ...source, open: (offset) => (opened(), source.open(offset)) }, controller.signal);
        uploading.catch(() => undefined);
        if (stage === 'body') {
          await bodyOpened;
          proxy.freeze();
        }
        await turns();
        controller.abort(reason);
        await assert.rejects(uploading, (error) => error === reason);
        await uploader.close();
      } finally {
        await uploader.close();
        await proxy.close();
      }
    });
  }

  // Nothing cancelled: a cycle that is done closes its session and must not hang there. Node's graceful close waits
  // for the server without end, and the liveness check stops once the session is closing, so close() ends the
  // session after as long as a ping may go unanswered (here half a second). A request still in flight then fails as
  // a lost connection, which the uploader retries.
  for (const pending of [false, true]) {
    it(`closes without a cancel all the same: ${pending ? 'the request still waiting fails' : 'an idle session'}`, async () => {
      const proxy = await startFreezingProxy(host.port);
      const client = await ReplicaClient.connect({ serverName: REPLICA_NAME, port: proxy.port, address: '127.0.0.1' }, primary, { liveness: { intervalMs: 100, timeoutMs: 500 } });
      try {
        assert.equal(await client.health(), 'ok\n');
        proxy.freeze();
        const waiting = pending ? client.health() : undefined;
        waiting?.catch(() => undefined);
        await client.close();
        assert.equal(client.closed, true);
        if (waiting) await assert.rejects(waiting, (error) => error instanceof TransportError && error.retryable);
      } finally {
        client.destroy();
        await proxy.close();
      }
    });
  }
});
