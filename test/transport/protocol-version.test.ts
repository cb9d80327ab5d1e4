/**
 * A primary talking to a replica server older than its protocol (one that cannot take streamed uploads)
 * is told to upgrade the replica server, instead of failing on a header the old server does not know.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { outdatedServer } from '../../src/transport/http2-client.js';
import { HEADER_PROTOCOL, MIN_SERVER_PROTOCOL_VERSION, PROTOCOL_VERSION } from '../../src/transport/wire.js';
import { pki, REPLICA_NAME, startReplica } from './fixtures.js';
import { ReplicaClient } from '../../src/transport/index.js';

const endpoint = { serverName: 'replica.example.test', port: 8443 };

describe('replica server protocol version', () => {
  it('refuses a server that speaks an older protocol, saying to upgrade it, and not retrying', () => {
    const error = outdatedServer({ [HEADER_PROTOCOL]: '1' }, endpoint);
    assert.ok(error);
    assert.equal(error.code, 'ERR_PROTOCOL_VERSION');
    assert.equal(error.retryable, false);
    assert.match(error.message, /replica\.example\.test speaks protocol 1.*upgrade hvreplica on the replica server/);
    assert.equal(outdatedServer({ [HEADER_PROTOCOL]: 'x' }, endpoint)?.code, 'ERR_PROTOCOL_VERSION');
  });

  it('accepts this version and answers without the header (health)', () => {
    assert.ok(PROTOCOL_VERSION >= MIN_SERVER_PROTOCOL_VERSION);
    assert.equal(outdatedServer({ [HEADER_PROTOCOL]: String(PROTOCOL_VERSION) }, endpoint), undefined);
    assert.equal(outdatedServer({}, endpoint), undefined);
  });

  it('talks to this build\'s replica server', async () => {
    const host = await startReplica();
    try {
      const { primary } = await pki();
      const client = await ReplicaClient.connect({ serverName: REPLICA_NAME, port: host.port, address: '127.0.0.1' }, primary);
      try {
        const hello = await client.hello();
        assert.equal(hello.ProtocolVersion, PROTOCOL_VERSION);
      } finally {
        await client.close();
      }
    } finally {
      await host.close();
    }
  });
});
