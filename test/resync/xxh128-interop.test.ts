/**
 * XXH3-128 comparisons (protocol 5) with peers that do not know them: a current primary against a replica
 * server of protocol 3–4 (its hello lists BLAKE3, not XXH3-128) compares by BLAKE3; a primary before protocol 5
 * (it asks for BLAKE3 only) against a current server, which keeps XXH3-128 manifests, gets BLAKE3 hashed in
 * full. The older server is the real one, wired as `hvreplica server run` wires it, serving and keeping what a
 * protocol 4 server did. Either way the replica must end equal to the primary by SHA-256.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HASH_SYNC_BLOCK_SIZE, hashSyncVm } from '../../src/agent/hash-sync.js';
import { primaryStateFile } from '../../src/agent/paths.js';
import type { ReplicaContentHandler } from '../../src/replica/index.js';
import type { HashAlgorithm } from '../../src/tracking/hash/hash-algorithm.js';
import { ReplicaClient } from '../../src/transport/index.js';
import { MiB, TwoHosts } from '../e2e/harness.js';
import { touchedBytes } from './helpers.js';
import { olderReplicaServer } from './older-server.js';

/** The replica server of `stateDir` as protocol 4 served it: SHA-256, BLAKE2b and BLAKE3, BLAKE3 kept; records the algorithms asked for. */
async function protocol4Server(stateDir: string) {
  const asked: string[] = [];
  const hashAlgorithms: HashAlgorithm[] = ['sha256', 'blake2b', 'blake3'];
  const keep = { blockSizeFor: () => HASH_SYNC_BLOCK_SIZE, algorithm: 'blake3' as const };
  const server = await olderReplicaServer(
    stateDir,
    (content): ReplicaContentHandler => ({
      hashAlgorithms,
      content: (auth, vmId) => content.content(auth, vmId),
      manifest: (auth, vmId, diskId, blockSize, algorithm) => {
        asked.push(`manifest ${algorithm}`);
        return content.manifest(auth, vmId, diskId, blockSize, algorithm);
      },
      digests: (auth, vmId, diskId, request) => {
        asked.push(`digests ${request.algorithm}`);
        return content.digests(auth, vmId, diskId, request);
      },
      seedFromBackup: (auth, definition) => content.seedFromBackup(auth, definition),
    }),
    { hashAlgorithms, keep },
  );
  return { asked, stop: () => server.stop() };
}

/** Replicates a filled VM, writes to it where tracking loses its place: what a resync then compares. */
async function divergedHosts(seed: number) {
  const hosts = await TwoHosts.create({ disks: [16 * MiB, 8 * MiB] });
  await hosts.startServer();
  await hosts.workload([`--seed=${seed}`, '--bytes=6MiB']);
  const initial = await hosts.replicate();
  assert.equal(initial.code, 0, JSON.stringify(initial.json));
  const journal = join(hosts.root, 'journal.jsonl');
  await hosts.workload([`--seed=${seed + 1}`, '--bytes=256KiB', '--max-size=16KiB', `--journal=${journal}`]);
  const stray = await hosts.host.createReferencePoint(hosts.vmId);
  await hosts.host.commitReferencePoint(hosts.vmId, stray.id);
  return { hosts, journal };
}

/** The resync sent at most the 4 KiB blocks written (the fine pass ran, by the agreed algorithm), and something. */
async function assertFineResult(hosts: TwoHosts, journal: string, result: Awaited<ReturnType<typeof hashSyncVm>>): Promise<void> {
  const vm = await hosts.host.getVm(hosts.vmId);
  const fineBound = await touchedBytes(journal, 4096, new Map(vm.disks.map((d) => [d.id, d.virtualSize])));
  assert.ok(result.changedBytes > 0 && result.changedBytes <= fineBound, `${result.changedBytes} differing bytes, at most the ${fineBound} bytes of 4 KiB blocks written`);
  assert.ok(result.disks.some((d) => d.finePass === 'compared'), JSON.stringify(result.disks));
}

describe('XXH3-128 comparisons with peers that do not know them', () => {
  it('a current primary compares with a protocol 4 replica server by BLAKE3; the replica ends equal by SHA-256', async () => {
    const { hosts, journal } = await divergedHosts(91);
    let older: Awaited<ReturnType<typeof protocol4Server>> | undefined;
    try {
      assert.equal(await hosts.server!.stop(), 0);
      older = await protocol4Server(hosts.replicaState);
      const result = await hashSyncVm({ host: hosts.host, vm: hosts.vmId, stateFile: primaryStateFile(hosts.primaryState, hosts.vmId), replica: await hosts.connection(), blockSize: HASH_SYNC_BLOCK_SIZE });
      await hosts.rememberPrimary(result.referencePoint);
      await assertFineResult(hosts, journal, result);
      assert.ok(older.asked.length > 0 && older.asked.every((asked) => asked.endsWith(' blake3')), `asked for: ${older.asked.join(', ')}`);
      await older.stop();
      older = undefined;
      assert.ok((await hosts.verifyReplica(result.referencePoint)) >= 2, 'the replica equals the primary by SHA-256 at every point checked');
    } finally {
      await older?.stop();
      await hosts.dispose();
    }
  });

  it('a primary before protocol 5 (BLAKE3 only) against a current server that keeps XXH3-128: BLAKE3 hashed in full, an exact replica', async () => {
    const { hosts, journal } = await divergedHosts(93);
    try {
      const conn = await hosts.connection();
      const client = await ReplicaClient.connect(conn.endpoint, conn.credential);
      const hello = await client.hello().finally(() => client.close());
      assert.ok(hello.ProtocolVersion >= 5 && hello.HashAlgorithms?.includes('xxh128') && hello.HashAlgorithms.includes('blake3'), JSON.stringify(hello));
      const result = await hashSyncVm({ host: hosts.host, vm: hosts.vmId, stateFile: primaryStateFile(hosts.primaryState, hosts.vmId), replica: await hosts.connection(), blockSize: HASH_SYNC_BLOCK_SIZE, algorithms: ['blake3'] });
      await hosts.rememberPrimary(result.referencePoint);
      await assertFineResult(hosts, journal, result);
      const server = hosts.server!;
      assert.equal(await server.stop(), 0);
      assert.match(server.stderr, /"algorithm":"blake3"[^\n]*"message":"manifest computed"/, 'BLAKE3 computed for the older primary');
      assert.doesNotMatch(server.stderr, /"algorithm":"xxh128"[^\n]*"message":"manifest (computed|from the kept one)"/, 'nothing of XXH3-128 served to it');
      assert.ok((await hosts.verifyReplica(result.referencePoint)) >= 2, 'the replica equals the primary by SHA-256 at every point checked');
    } finally {
      await hosts.dispose();
    }
  });
});
