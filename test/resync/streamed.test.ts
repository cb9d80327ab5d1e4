/**
 * The comparison streams (src/agent/streamed-comparison.ts): the log of the differing blocks is uploaded
 * while the rest of the disk is still being hashed, not after; the resync keeps no spool file (its frozen
 * point stays readable until the replica acknowledges); and a failure of the comparison after the upload
 * began fails the resync with that failure, applies nothing, and the next attempt still brings the replica
 * to the primary's content.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hashSyncVm } from '../../src/agent/hash-sync.js';
import { primaryStateFile, spoolDir } from '../../src/agent/paths.js';
import { vmLogId } from '../../src/engine/index.js';
import type { DiskImage } from '../../src/host/disk-image.js';
import type { HostAdapter } from '../../src/host/host-adapter.js';
import { openVhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import type { DeliveryProgress } from '../../src/transport/index.js';
import { MiB, TwoHosts } from '../e2e/harness.js';

/** How long the last hash window waits for the upload to begin before it goes on anyway. */
const WAIT_FOR_UPLOAD_MS = 20_000;

/** `image` whose hashing of the disk's last window first runs `beforeLast` (waits, or fails). */
function withLastWindow(image: DiskImage, beforeLast: () => Promise<void>): DiskImage {
  const last = (offset: number, length: number) => offset + length >= image.virtualSize && length > 64 * 1024;
  const gated: DiskImage = {
    virtualSize: image.virtualSize,
    logicalSectorSize: image.logicalSectorSize,
    read: (offset, length) => image.read(offset, length),
    close: () => image.close(),
  };
  if (image.readInto) {
    const readInto = image.readInto.bind(image);
    gated.readInto = async (offset, into) => {
      if (last(offset, into.length)) await beforeLast();
      return readInto(offset, into);
    };
  }
  if (image.hashBlocks) {
    const hashBlocks = image.hashBlocks.bind(image);
    gated.hashBlocks = async (algorithm, offset, length, blockSize) => {
      if (last(offset, length)) await beforeLast();
      return hashBlocks(algorithm, offset, length, blockSize);
    };
  }
  if (image.allocation) gated.allocation = image.allocation.bind(image);
  return gated;
}

/** The host, its frozen disks opened through `wrap`. */
function hostOpening(host: HostAdapter, wrap: (image: DiskImage) => DiskImage): HostAdapter {
  return new Proxy(host, {
    get(target, property) {
      if (property === 'openDiskAt') return async (vm: string, point: string, disk: string) => wrap(await target.openDiskAt(vm, point, disk));
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function diverged(hosts: TwoHosts, seed: number): Promise<void> {
  await hosts.workload([`--seed=${seed}`, '--bytes=2MiB', '--max-size=32KiB']);
  const stray = await hosts.host.createReferencePoint(hosts.vmId);
  await hosts.host.commitReferencePoint(hosts.vmId, stray.id);
}

describe('streamed comparison', () => {
  it('uploads the differing blocks while the disk is still being hashed, with no spool file; a failure mid-stream applies nothing', async () => {
    const hosts = await TwoHosts.create({ disks: [64 * MiB] });
    try {
      await hosts.startServer();
      await hosts.workload(['--seed=71', '--bytes=16MiB']);
      const initial = await hosts.replicate();
      assert.equal(initial.code, 0, JSON.stringify(initial.json));
      await diverged(hosts, 72);
      const stateFile = primaryStateFile(hosts.primaryState, hosts.vmId);
      const vmFolder = join(spoolDir(hosts.primaryState), vmLogId(hosts.vmId));

      // A source disk that fails to read its last window, after the upload began: the resync fails with
      // that failure (not some upload error), the replica takes nothing, the frozen point is discarded.
      let uploadBegan!: () => void;
      const began = new Promise<void>((resolve) => (uploadBegan = resolve));
      const onProgress = (p: DeliveryProgress) => p.phase === 'upload' && p.bytes > 0 && uploadBegan();
      const failing = hostOpening(hosts.host, (image) =>
        withLastWindow(image, async () => {
          await Promise.race([began, new Promise((resolve) => setTimeout(resolve, WAIT_FOR_UPLOAD_MS))]);
          throw new Error('test: the source disk failed to read');
        }),
      );
      await assert.rejects(hashSyncVm({ host: failing, vm: hosts.vmId, stateFile, replica: { ...(await hosts.connection()), onProgress, retry: { attempts: 1 } } }), /the source disk failed to read/);
      assert.equal((await hosts.host.getVm(hosts.vmId)).referencePoints.filter((p) => p.state === 'frozen').length, 0, 'the failed attempt discarded its point');
      await hosts.server!.stop();
      const status = await (await openVhdxReplicaStorage(hosts.replicaDir)).status();
      assert.deepEqual([status.position?.toString(), status.referencePoint, status.pending.length], ['1/0@0', initial.cycle!.ReferencePoint, 0], 'nothing of the failed attempt was taken');
      await hosts.startServer();

      // The last window is hashed only once the upload has begun (or after WAIT_FOR_UPLOAD_MS, too late).
      let uploadedBeforeLastWindow = false;
      let beganAgain!: () => void;
      const again = new Promise<void>((resolve) => (beganAgain = resolve));
      const waiting = hostOpening(hosts.host, (image) =>
        withLastWindow(image, async () => {
          uploadedBeforeLastWindow = await Promise.race([again.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), WAIT_FOR_UPLOAD_MS))]);
        }),
      );
      const progress = (p: DeliveryProgress) => p.phase === 'upload' && p.bytes > 0 && beganAgain();
      const result = await hashSyncVm({ host: waiting, vm: hosts.vmId, stateFile, replica: { ...(await hosts.connection()), onProgress: progress } });
      await hosts.rememberPrimary(result.referencePoint);
      assert.ok(uploadedBeforeLastWindow, 'the upload began before the whole disk was hashed');
      assert.ok(result.changedBytes > 0 && result.disks[0]!.finePass === 'compared', JSON.stringify(result.disks));
      assert.equal(existsSync(vmFolder), false, `no spool file: the frozen point is read again if an upload must resume far back (${vmFolder})`);
      assert.equal(await hosts.server!.stop(), 0);
      // The resync's log carries the record checksum the session agreed on, as every cycle's does.
      const accepted = hosts.server!.stderr.split('\n').filter((line) => line.includes('log accepted')).at(-1) ?? '';
      // XXH3-128: a current server lists it and a current primary prefers it (record-hash.ts).
      assert.match(accepted, /"recordHash":"xxh128"/, accepted);
      assert.ok((await hosts.verifyReplica(result.referencePoint)) >= 2, 'every recovery point checked against the primary');
    } finally {
      await hosts.dispose();
    }
  });
});
