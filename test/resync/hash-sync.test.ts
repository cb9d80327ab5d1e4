/**
 * Comparing by hash over the network, with a real `hvreplica server run`: the manifest endpoint (what it
 * answers, whom it refuses) and the primary-side primitive (only differing blocks cross, the cycle
 * continues the replica's generation, later cycles are ordinary deltas, the replica equals the primary).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HASH_SYNC_BLOCK_SIZE, HASH_SYNC_MAX_BLOCKS, hashSyncVm } from '../../src/agent/hash-sync.js';
import { primaryStateFile } from '../../src/agent/paths.js';
import { loadPrimaryState } from '../../src/engine/primary-state.js';
import { diskLogId, vmLogId } from '../../src/engine/index.js';
import { hostCertificate } from '../../src/demo/pairing.js';
import { addEntry, makeEntry, ReplicaConfigStore } from '../../src/replica/index.js';
import { FileCertificateStore } from '../../src/security/index.js';
import { decodeManifest, type HashAlgorithm } from '../../src/tracking/index.js';
import { manifestBlockSize, MAX_MANIFEST_BLOCKS, ReplicaClient, TransportError } from '../../src/transport/index.js';
import { MiB, TwoHosts } from '../e2e/harness.js';
import { recoveryPoints, touchedBytes } from './helpers.js';

const BLOCK = 64 * 1024;

async function refused(promise: Promise<unknown>, code: string): Promise<TransportError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof TransportError, `expected a TransportError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, but the request succeeded`);
}

describe('hash comparison over the network', () => {
  it('the replica serves manifests of its latest content, bounded, to its own primary only', async () => {
    const hosts = await TwoHosts.create({ disks: [8 * MiB, 4 * MiB] });
    try {
      await hosts.startServer();
      await hosts.workload(['--seed=41', '--bytes=2MiB']);
      const initial = await hosts.replicate();
      assert.equal(initial.code, 0, JSON.stringify(initial.json));
      const vm = await hosts.host.getVm(hosts.vmId);
      const vmId = vmLogId(vm.id);
      const diskId = diskLogId(vm.id, vm.disks[0]!.id);
      const conn = await hosts.connection();
      const client = await ReplicaClient.connect(conn.endpoint, conn.credential);
      try {
        const content = await client.content(vmId);
        assert.equal(content.Position, '1/0@0');
        assert.equal(content.ReferencePoint, initial.cycle!.ReferencePoint);
        assert.deepEqual(
          content.Disks.map((d) => d.VirtualSize).sort((a, b) => a - b),
          [4 * MiB, 8 * MiB],
        );
        const answer = await client.manifest(vmId, diskId, BLOCK);
        assert.equal(answer.position, '1/0@0');
        assert.equal(answer.referencePoint, initial.cycle!.ReferencePoint);
        const manifest = decodeManifest(answer.manifest);
        assert.deepEqual([manifest.blockSize, manifest.virtualSize, manifest.digests.length], [BLOCK, 8 * MiB, (8 * MiB / BLOCK) * 32]);
        // Without an algorithm (a primary before protocol 3): SHA-256, as before.
        assert.equal(manifest.algorithm, 'sha256');
        // Protocol 3: the hello lists what the routes compute; BLAKE3 is asked for by name and kept apart.
        const hello = await client.hello();
        assert.ok(hello.ProtocolVersion >= 3 && hello.HashAlgorithms?.includes('blake3') && hello.HashAlgorithms.includes('sha256'), JSON.stringify(hello));
        const fast = decodeManifest((await client.manifest(vmId, diskId, BLOCK, 'blake3')).manifest);
        assert.deepEqual([fast.algorithm, fast.blockSize, fast.digests.length], ['blake3', BLOCK, manifest.digests.length]);
        assert.ok(!fast.digests.equals(manifest.digests), 'other digests of the same content');
        const fastFine = decodeManifest((await client.manifest(vmId, diskId, 4096, 'blake3')).manifest);
        const fastDigests = await client.digests(vmId, diskId, { blockSize: 4096, algorithm: 'blake3', position: answer.position!, referencePoint: answer.referencePoint, ranges: [{ offset: 2 * BLOCK, length: BLOCK }] });
        assert.ok(fastDigests.equals(fastFine.digests.subarray(2 * (BLOCK / 4096) * 32, 3 * (BLOCK / 4096) * 32)), 'BLAKE3 fine digests match its manifest');
        const unknown = await refused(client.manifest(vmId, diskId, BLOCK, 'md5' as HashAlgorithm), 'ERR_INVALID_ARGUMENT');
        assert.match(unknown.message, /not 'md5'/);
        // Asked again (a primary that lost its connection): the same manifest, from the finished computation.
        assert.ok((await client.manifest(vmId, diskId, BLOCK)).manifest.equals(answer.manifest));
        await refused(client.manifest(vmId, diskId, 1000), 'ERR_INVALID_ARGUMENT');
        // The fine pass: digests of chosen ranges, equal to the matching part of a 4 KiB manifest.
        const fineManifest = decodeManifest((await client.manifest(vmId, diskId, 4096)).manifest);
        const pinned = { blockSize: 4096, position: answer.position!, referencePoint: answer.referencePoint };
        const digests = await client.digests(vmId, diskId, { ...pinned, ranges: [{ offset: 0, length: BLOCK }, { offset: 4 * BLOCK, length: 2 * BLOCK }] });
        const perBlock = BLOCK / 4096;
        assert.ok(digests.equals(Buffer.concat([fineManifest.digests.subarray(0, perBlock * 32), fineManifest.digests.subarray(4 * perBlock * 32, 6 * perBlock * 32)])));
        await refused(client.digests(vmId, diskId, { ...pinned, position: '1/5@0', ranges: [{ offset: 0, length: BLOCK }] }), 'ERR_BUSY');
        await refused(client.digests(vmId, diskId, { ...pinned, ranges: [{ offset: 512, length: BLOCK }] }), 'ERR_INVALID_ARGUMENT');
        await refused(client.digests(vmId, diskId, { ...pinned, ranges: [{ offset: 0, length: 16 * MiB }] }), 'ERR_INVALID_ARGUMENT');
        await refused(client.manifest(vmId, '00000000-0000-4000-8000-000000000001', BLOCK), 'ERR_NOT_FOUND');
        await refused(client.content('00000000-0000-4000-8000-000000000002'), 'ERR_NOT_FOUND');
      } finally {
        await client.close();
      }
      // One answer carries at most MAX_MANIFEST_BLOCKS digests: a 64 TiB disk is compared at 32 MiB blocks.
      assert.equal(manifestBlockSize(64 * 1024 ** 4, BLOCK), 32 * MiB);
      assert.ok(Math.ceil((64 * 1024 ** 4) / (32 * MiB)) <= MAX_MANIFEST_BLOCKS);
      // The primary's own, tighter bound: 64 KiB up to 32 GiB, then the block grows with the disk.
      assert.deepEqual(
        [4, 32, 33, 128].map((gib) => manifestBlockSize(gib * 1024 ** 3, HASH_SYNC_BLOCK_SIZE, HASH_SYNC_MAX_BLOCKS)),
        [64 * 1024, 64 * 1024, 128 * 1024, 256 * 1024],
      );
      // A caller's bound never exceeds what one answer carries, and the block never exceeds the largest.
      assert.equal(manifestBlockSize(64 * 1024 ** 4, BLOCK, 4 * MAX_MANIFEST_BLOCKS), 32 * MiB);
      assert.equal(manifestBlockSize(64 * 1024 ** 4, BLOCK, 1024), 64 * MiB);

      // A primary the CA trusts but no authorization entry admits, and one of another trust group.
      const strangerDir = join(hosts.root, 'stranger');
      const stranger = await new FileCertificateStore(strangerDir).credential(await hostCertificate(strangerDir, hosts.pairing.ca, ['stranger.elsewhere.test']));
      const tenantDir = join(hosts.root, 'tenant');
      const tenant = await new FileCertificateStore(tenantDir).credential(await hostCertificate(tenantDir, hosts.pairing.ca, ['hv1.other-tenant.test']));
      await new ReplicaConfigStore(hosts.replicaState).update((config) => ({
        config: { ...config, AuthorizationEntries: addEntry(config.AuthorizationEntries, makeEntry('hv1.other-tenant.test', join(hosts.root, 'other-storage'), 'other-tenant')) },
        result: undefined,
      }));
      for (const [credential, what] of [
        [stranger, 'no authorization entry matches'],
        [tenant, 'trust group'],
      ] as const) {
        const other = await ReplicaClient.connect(conn.endpoint, credential);
        try {
          const error = await refused(other.manifest(vmId, diskId, BLOCK), 'ERR_UNAUTHORIZED');
          assert.match(error.message, new RegExp(what));
          await refused(other.content(vmId), 'ERR_UNAUTHORIZED');
        } finally {
          await other.close();
        }
      }
    } finally {
      await hosts.dispose();
    }
  });

  it('sends only the differing blocks as the next cycle; later cycles are deltas; replica equals primary', async (t) => {
    const disks = [16 * MiB, 8 * MiB];
    const hosts = await TwoHosts.create({ disks });
    try {
      const server = await hosts.startServer();
      await hosts.workload(['--seed=51', '--bytes=6MiB']);
      const initial = await hosts.replicate();
      assert.equal(initial.code, 0, JSON.stringify(initial.json));
      assert.equal((await hosts.replicate()).code, 0, 'a delta before the comparison');

      // Writes the replica has not seen, then tracking loses its place (a point committed outside replication).
      const journal = join(hosts.root, 'journal.jsonl');
      await hosts.workload(['--seed=52', '--bytes=512KiB', '--max-size=64KiB', `--journal=${journal}`]);
      const stray = await hosts.host.createReferencePoint(hosts.vmId);
      await hosts.host.commitReferencePoint(hosts.vmId, stray.id);

      const stateFile = primaryStateFile(hosts.primaryState, hosts.vmId);
      const result = await hashSyncVm({ host: hosts.host, vm: hosts.vmId, stateFile, replica: await hosts.connection(), blockSize: BLOCK });
      await hosts.rememberPrimary(result.referencePoint);
      const vm = await hosts.host.getVm(hosts.vmId);
      const sizes = new Map(vm.disks.map((d) => [d.id, d.virtualSize]));
      const bound = await touchedBytes(journal, BLOCK, sizes);
      // The two-level comparison sends 4 KiB blocks inside the 64 KiB blocks that differ.
      const fineBound = await touchedBytes(journal, 4096, sizes);
      const total = disks.reduce((a, b) => a + b, 0);
      assert.deepEqual([result.generation, result.sequence], [1, 2], 'the next cycle of the replica’s generation, not a new full copy');
      assert.equal(result.comparedBytes, total);
      assert.ok(result.changedBytes > 0 && result.changedBytes <= fineBound, `${result.changedBytes} differing bytes, at most the ${fineBound} bytes of 4 KiB blocks written`);
      assert.ok(fineBound < bound, `the writes touch ${fineBound} bytes of 4 KiB blocks, ${bound} of 64 KiB blocks`);
      assert.ok(result.disks.some((d) => d.finePass === 'compared'), `the fine pass ran: ${JSON.stringify(result.disks)}`);
      assert.ok(result.logBytes <= result.changedBytes + 64 * 1024, `log ${result.logBytes} bytes for ${result.changedBytes} differing`);
      assert.ok(result.logBytes < total / 8, `log ${result.logBytes} bytes for ${total} bytes of disk`);
      assert.match(server.stderr, /"algorithm":"xxh128"[^\n]*"message":"manifest (computed|from the kept one)"/, 'the replica served XXH3-128 manifests');
      t.diagnostic(`hash sync: ${result.logBytes} bytes sent, ${result.changedBytes} differing (writes touched ${fineBound} in 4 KiB blocks, ${bound} in 64 KiB), of ${total} bytes of disk`);
      const state = await loadPrimaryState(stateFile);
      assert.deepEqual([state?.generation, state?.sequence, state?.referencePoint, state?.fullCopyRequired], [1, 2, result.referencePoint, undefined]);
      assert.equal((await hosts.host.getVm(hosts.vmId)).referencePoints.filter((p) => p.state === 'frozen').length, 0, 'the point was committed');

      await hosts.workload(['--seed=53', '--bytes=256KiB']);
      const after = await hosts.replicate();
      assert.equal(after.code, 0, JSON.stringify(after.json));
      assert.deepEqual([after.cycle?.Kind, after.cycle?.Sequence], ['delta', 3]);
      assert.equal(await hosts.server!.stop(), 0);
      const points = await recoveryPoints(hosts.replicaDir);
      assert.ok(points.some((p) => p.referencePoint === initial.cycle!.ReferencePoint), 'the recovery point of the initial replication is kept');
      assert.ok((await hosts.verifyReplica(after.cycle!.ReferencePoint)) >= 3, 'every recovery point checked against the primary');
    } finally {
      await hosts.dispose();
    }
  });

  it('compares with SHA-256 where BLAKE3 is not agreed (an older replica server): the same differing blocks, an exact replica', async () => {
    const disks = [8 * MiB];
    const hosts = await TwoHosts.create({ disks });
    try {
      const server = await hosts.startServer();
      await hosts.workload(['--seed=61', '--bytes=4MiB']);
      assert.equal((await hosts.replicate()).code, 0);
      const journal = join(hosts.root, 'journal.jsonl');
      await hosts.workload(['--seed=62', '--bytes=256KiB', '--max-size=32KiB', `--journal=${journal}`]);
      const stray = await hosts.host.createReferencePoint(hosts.vmId);
      await hosts.host.commitReferencePoint(hosts.vmId, stray.id);
      const stateFile = primaryStateFile(hosts.primaryState, hosts.vmId);
      const result = await hashSyncVm({ host: hosts.host, vm: hosts.vmId, stateFile, replica: await hosts.connection(), blockSize: BLOCK, algorithms: ['sha256'] });
      await hosts.rememberPrimary(result.referencePoint);
      const vm = await hosts.host.getVm(hosts.vmId);
      const fineBound = await touchedBytes(journal, 4096, new Map(vm.disks.map((d) => [d.id, d.virtualSize])));
      assert.ok(result.changedBytes > 0 && result.changedBytes <= fineBound, `${result.changedBytes} differing bytes, at most the ${fineBound} bytes of 4 KiB blocks written`);
      assert.match(server.stderr, /"algorithm":"sha256"[^\n]*"message":"manifest (computed|from the kept one)"/, 'the replica served SHA-256 manifests');
      assert.doesNotMatch(server.stderr, /"algorithm":"(blake3|xxh128)"[^\n]*"message":"manifest (computed|from the kept one)"/);
      assert.equal(await hosts.server!.stop(), 0);
      assert.ok((await hosts.verifyReplica(result.referencePoint)) >= 2);
    } finally {
      await hosts.dispose();
    }
  });

  it('a reference point that cannot be taken fails the comparison and closes the connection opened ahead for it', async () => {
    const hosts = await TwoHosts.create({ disks: [4 * MiB] });
    try {
      await hosts.startServer();
      const initial = await hosts.replicate();
      assert.equal(initial.code, 0, JSON.stringify(initial.json));
      const stateFile = primaryStateFile(hosts.primaryState, hosts.vmId);
      const before = await loadPrimaryState(stateFile);
      const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
      const idle = sockets();
      // The real file host, but its reference point fails (a full volume, a VM being deleted…).
      const host = Object.create(hosts.host) as typeof hosts.host;
      host.createReferencePoint = () => new Promise((_resolve, reject) => setTimeout(() => reject(new Error('no space left for the reference point')), 200));
      await assert.rejects(hashSyncVm({ host, vm: hosts.vmId, stateFile, replica: await hosts.connection(), blockSize: BLOCK }), /no space left for the reference point/);
      // The connection was opened while the point was being taken; it ends on the next turns (session-teardown.ts).
      for (let i = 0; i < 50 && sockets() > idle; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(sockets(), idle, `open sockets: ${process.getActiveResourcesInfo().join(', ')}`);
      assert.deepEqual(await loadPrimaryState(stateFile), before, 'the primary state is untouched');
      const after = await hosts.replicate();
      assert.equal(after.code, 0, `the next cycle runs as before: ${JSON.stringify(after.json)}`);
    } finally {
      await hosts.dispose();
    }
  });
});
