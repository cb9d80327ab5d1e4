import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LocalSink, type DeliveryAck, type LogSink, type OutgoingCycle } from '../../src/engine/log-sink.js';
import { Replicator, replicaDisksOf } from '../../src/engine/replicator.js';
import type { ReplicaStorage } from '../../src/storage/replica-storage.js';
import { createVhdxReplicaStorage, type VhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import type { VhdxDisk } from '../../src/vhdx/index.js';
import { tempDir } from '../helpers/paths.js';
import { MemoryHost } from './memory-host.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readAll(disk: VhdxDisk): Promise<Buffer> {
  const out = await disk.read(0, disk.info.virtualSize);
  await disk.close();
  return out;
}

/** A sink decorator that delivers, then loses the acknowledgement on the way back. */
class LosingAck implements LogSink {
  lose = 0;
  constructor(private readonly inner: LogSink) {}
  async deliver(cycle: OutgoingCycle, signal?: AbortSignal): Promise<DeliveryAck> {
    const ack = await this.inner.deliver(cycle, signal);
    if (this.lose > 0) {
      this.lose -= 1;
      throw Object.assign(new Error('acknowledgement lost'), { code: 'ECONNRESET' });
    }
    return ack;
  }
}

/** A ReplicaStorage decorator whose next `failures` applies fail, as a full volume or an I/O error would. */
class FailingApply implements ReplicaStorage {
  constructor(
    private readonly inner: ReplicaStorage,
    private failures: number,
  ) {}
  get vmId(): string {
    return this.inner.vmId;
  }
  status = () => this.inner.status();
  receive = (log: AsyncIterable<Uint8Array>) => this.inner.receive(log);
  applyPending = async () => {
    if (this.failures-- > 0) throw Object.assign(new Error('injected apply failure'), { code: 'ERR_IO' });
    return this.inner.applyPending();
  };
  sealIfDue = (now?: Date) => this.inner.sealIfDue(now);
  seal = (now?: Date) => this.inner.seal(now);
  listRecoveryPoints = () => this.inner.listRecoveryPoints();
  openRecoveryPoint = (pointId: string, diskId: string) => this.inner.openRecoveryPoint(pointId, diskId);
  openLatest = (diskId: string) => this.inner.openLatest(diskId);
}

describe('Replicator → LocalSink → VhdxReplicaStorage', () => {
  let dir: { path: string; cleanup: () => void };
  let host: MemoryHost;
  let storage: VhdxReplicaStorage;
  let sink: LosingAck;
  let replicator: Replicator;
  let consistency: 'crash' | 'application';

  beforeEach(async () => {
    dir = tempDir('local-sink');
    host = new MemoryHost([8 * MiB, 4 * MiB]);
    const spec = replicaDisksOf(await host.getVm());
    storage = await createVhdxReplicaStorage(join(dir.path, 'replica', spec.vmId), { ...spec, blockSize: MiB, settings: { recoveryHistory: 3 } });
    sink = new LosingAck(new LocalSink(storage));
    consistency = 'application';
    replicator = new Replicator({ host, vm: 'mem-vm', sink, stateFile: join(dir.path, 'primary.json'), consistency: () => consistency });
  });
  afterEach(() => dir.cleanup());

  async function assertPointMatches(pointId: string, referencePoint: string): Promise<void> {
    const vm = await host.getVm();
    for (const [i, disk] of replicaDisksOf(vm).disks.entries()) {
      assert.equal(sha(await readAll(await storage.openRecoveryPoint(pointId, disk.diskId))), sha(host.frozenContent(referencePoint, i)), `disk ${i} at ${referencePoint}`);
    }
  }

  it('initial replication and three deltas: every recovery point equals the primary at its reference point', async () => {
    host.write(0, 0, randomBytes(300 * 1024));
    host.write(1, 3 * MiB, randomBytes(128 * 1024));
    const seen: Array<{ reference: string; hashes: string[] }> = [];
    for (let cycle = 0; cycle <= 3; cycle += 1) {
      if (cycle > 0) {
        host.write(0, cycle * MiB + 4096, randomBytes(200 * 1024));
        host.write(1, 0, Buffer.alloc(64 * 1024));
        host.write(1, cycle * 256 * 1024, randomBytes(64 * 1024));
      }
      const result = await replicator.syncOnce();
      assert.deepEqual([result.generation, result.sequence], [1, cycle]);
      seen.push({ reference: result.referencePoint, hashes: host.disks.map((_, i) => sha(host.frozenContent(result.referencePoint, i))) });
      const points = await storage.listRecoveryPoints();
      const latest = points.at(-1)!;
      assert.equal(latest.referencePoint, result.referencePoint);
      assert.equal(latest.consistency, 'application');
      await assertPointMatches(latest.id, result.referencePoint);
    }
    // Retention kept the last three points; each still reads as the primary did at its reference point.
    const points = await storage.listRecoveryPoints();
    assert.deepEqual(points.map((p) => p.sequence), [1, 2, 3]);
    for (const p of points) {
      const expected = seen.find((s) => s.reference === p.referencePoint)!;
      const vm = await host.getVm();
      const actual: string[] = [];
      for (const disk of replicaDisksOf(vm).disks) actual.push(sha(await readAll(await storage.openRecoveryPoint(p.id, disk.diskId))));
      assert.deepEqual(actual, expected.hashes, `point ${p.sequence}`);
    }
  });

  it('acknowledges what is stored even when applying fails, and applies it with the next delivery', async () => {
    consistency = 'crash';
    await replicator.syncOnce();
    // A storage decorator whose next apply fails, as a full volume or an I/O error would make it.
    const local = new LocalSink(new FailingApply(storage, 1));
    const r = new Replicator({ host, vm: 'mem-vm', sink: local, stateFile: join(dir.path, 'primary.json') });
    host.write(0, 0, randomBytes(64 * 1024));
    const first = await r.syncOnce();
    assert.equal(first.sequence, 1, 'the cycle was acknowledged');
    assert.match(String(local.lastApplyError), /injected apply failure/);
    assert.equal((await storage.status()).pending.length, 1);
    host.write(1, 0, randomBytes(64 * 1024));
    const second = await r.syncOnce();
    assert.equal(second.sequence, 2);
    assert.equal(local.lastApplyError, undefined);
    const status = await storage.status();
    assert.deepEqual([status.position?.sequence, status.pending.length], [2, 0]);
    for (const [i, disk] of status.disks.entries()) {
      assert.equal(sha(await readAll(await storage.openLatest(disk.diskId))), sha(host.frozenContent(second.referencePoint, i)));
    }
  });

  it('a lost acknowledgement is healed by the next cycle, which supersedes the applied one', async () => {
    consistency = 'crash';
    await replicator.syncOnce();
    host.write(0, 0, randomBytes(64 * 1024));
    sink.lose = 1;
    await assert.rejects(replicator.syncOnce(), /acknowledgement lost/);
    assert.equal((await storage.status()).position?.sequence, 1, 'the replica applied the cycle');
    host.write(0, 5 * MiB, randomBytes(64 * 1024));
    const next = await replicator.syncOnce();
    assert.equal(next.sequence, 1);
    const status = await storage.status();
    assert.equal(status.referencePoint, next.referencePoint);
    for (const [i, disk] of status.disks.entries()) {
      assert.equal(sha(await readAll(await storage.openLatest(disk.diskId))), sha(host.frozenContent(next.referencePoint, i)));
    }
    const after = await replicator.syncOnce();
    assert.equal(after.sequence, 2);
  });
});
