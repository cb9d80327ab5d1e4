/**
 * The fine pass of a resynchronisation against a replica server from before the digests route: the
 * primary asks for the 4 KiB digests of the 64 KiB blocks that differ (POST …/digests), the older server
 * answers 404 (ERR_NOT_FOUND, "no such route"), and the primary sends those 64 KiB blocks whole. The
 * server is the real one, wired as `hvreplica server run` wires it, with only that route answered as an
 * older server answers it; the replica must end equal to the primary by SHA-256 and the result must say
 * that the fine pass fell back (finePass 'replica-too-old', whole blocks counted).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HASH_SYNC_BLOCK_SIZE, hashSyncVm } from '../../src/agent/hash-sync.js';
import { primaryStateFile } from '../../src/agent/paths.js';
import { ReplicaError, type ReplicaContentHandler } from '../../src/replica/index.js';
import { MiB, TwoHosts } from '../e2e/harness.js';
import { touchedBytes } from './helpers.js';
import { olderReplicaServer } from './older-server.js';

/** The replica server of `stateDir` on its configured port, answering POST …/digests as a server that has no such route. */
async function serverWithoutDigests(stateDir: string) {
  const asked: string[] = [];
  const server = await olderReplicaServer(stateDir, (content): ReplicaContentHandler => ({
    // A server from before the digests route knew SHA-256 manifests only.
    hashAlgorithms: ['sha256'],
    content: (auth, vmId) => content.content(auth, vmId),
    manifest: (auth, vmId, diskId, blockSize) => content.manifest(auth, vmId, diskId, blockSize),
    seedFromBackup: (auth, definition) => content.seedFromBackup(auth, definition),
    digests: async (_auth, _vmId, diskId) => {
      asked.push(diskId);
      throw new ReplicaError('ERR_NOT_FOUND', 'no such route');
    },
  }));
  return { asked, stop: () => server.stop() };
}

describe('resync fine pass against an older replica server', () => {
  it('falls back to whole 64 KiB blocks when POST …/digests is answered 404; the replica ends equal by hash', async (t) => {
    const disks = [16 * MiB, 8 * MiB];
    const hosts = await TwoHosts.create({ disks });
    let older: Awaited<ReturnType<typeof serverWithoutDigests>> | undefined;
    try {
      await hosts.startServer();
      await hosts.workload(['--seed=81', '--bytes=6MiB']);
      const initial = await hosts.replicate();
      assert.equal(initial.code, 0, JSON.stringify(initial.json));
      assert.equal(await hosts.server!.stop(), 0);
      older = await serverWithoutDigests(hosts.replicaState);

      // Small scattered writes the replica has not seen, then tracking loses its place: a resync compares.
      const journal = join(hosts.root, 'journal.jsonl');
      await hosts.workload(['--seed=82', '--bytes=256KiB', '--max-size=8KiB', `--journal=${journal}`]);
      const stray = await hosts.host.createReferencePoint(hosts.vmId);
      await hosts.host.commitReferencePoint(hosts.vmId, stray.id);

      const result = await hashSyncVm({ host: hosts.host, vm: hosts.vmId, stateFile: primaryStateFile(hosts.primaryState, hosts.vmId), replica: await hosts.connection(), blockSize: HASH_SYNC_BLOCK_SIZE });
      await hosts.rememberPrimary(result.referencePoint);
      const vm = await hosts.host.getVm(hosts.vmId);
      const sizes = new Map(vm.disks.map((d) => [d.id, d.virtualSize]));
      const coarseBound = await touchedBytes(journal, HASH_SYNC_BLOCK_SIZE, sizes);
      const fineBound = await touchedBytes(journal, 4096, sizes);

      assert.deepEqual([...new Set(older.asked)].sort(), result.disks.filter((d) => d.differingBytes > 0).map((d) => d.logDiskId).sort(), 'the primary asked for the digests of every disk with differing blocks');
      assert.deepEqual(result.disks.map((d) => [d.blockSize, d.finePass]), result.disks.map((d) => [HASH_SYNC_BLOCK_SIZE, d.differingBytes > 0 ? 'replica-too-old' : 'skipped']), 'the result says the fine pass fell back');
      for (const disk of result.disks) assert.equal(disk.differingBytes % HASH_SYNC_BLOCK_SIZE, 0, `disk ${disk.logDiskId}: whole 64 KiB blocks (${disk.differingBytes} bytes)`);
      assert.ok(result.changedBytes > fineBound && result.changedBytes <= coarseBound, `${result.changedBytes} bytes sent: the 64 KiB blocks written (${coarseBound}), more than their 4 KiB blocks (${fineBound})`);
      t.diagnostic(`older replica: ${result.changedBytes} bytes of whole blocks sent (4 KiB blocks written: ${fineBound}, 64 KiB blocks: ${coarseBound}), ${result.logBytes} bytes of log`);

      await older.stop();
      older = undefined;
      assert.ok((await hosts.verifyReplica(result.referencePoint)) >= 2, 'the replica equals the primary by SHA-256 at every point checked');
    } finally {
      await older?.stop();
      await hosts.dispose();
    }
  });
});
