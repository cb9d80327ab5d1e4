/**
 * Test-VMReplicationConnection: connect with this host's certificate, have the replica server check
 * it against its authorization entries, and report what it said.
 */
import type { HostCredential } from '../security/index.js';
import { ReplicaClient, type ConnectOptions, type ReplicaEndpoint } from './http2-client.js';
import type { HelloResponse } from './wire.js';

export async function testReplicationConnection(endpoint: ReplicaEndpoint, credential: HostCredential, options: ConnectOptions = {}): Promise<HelloResponse> {
  const client = await ReplicaClient.connect(endpoint, credential, options);
  try {
    return await client.hello();
  } finally {
    await client.close();
  }
}
