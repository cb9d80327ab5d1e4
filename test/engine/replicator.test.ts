import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { commitsSettled, Replicator, replicaDisksOf } from '../../src/engine/replicator.js';
import { diskLogId } from '../../src/engine/ids.js';
import { tempDir } from '../helpers/paths.js';
import { MemoryHost } from './memory-host.js';
import { MemorySink } from './memory-sink.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('Replicator.syncOnce', () => {
  let dir: { path: string; cleanup: () => void };
  let host: MemoryHost;
  let sink: MemorySink;
  let replicator: Replicator;
  let stateFile: string;

  beforeEach(() => {
    dir = tempDir('replicator');
    host = new MemoryHost([4 * MiB, 2 * MiB]);
    sink = new MemorySink();
    stateFile = join(dir.path, 'primary.json');
    replicator = new Replicator({ host, vm: 'mem-vm', sink, stateFile, readChunkBytes: 256 * 1024 });
  });
  afterEach(() => dir.cleanup());

  /** The replica's disk i must equal the primary's disk i as frozen at the committed point. */
  function assertReplicaMatches(pointId: string): void {
    host.disks.forEach((disk, i) => {
      const replica = sink.disks.get(diskLogId(host.vmId, disk.id));
      assert.ok(replica, `replica has disk ${disk.id}`);
      assert.equal(sha(replica), sha(host.frozenContent(pointId, i)), `disk ${disk.id} at ${pointId}`);
    });
  }

  it('sends an initial copy, then only changes, and the replica equals the primary at every point', async () => {
    host.write(0, 0, randomBytes(128 * 1024));
    host.write(1, MiB, randomBytes(64 * 1024));
    const initial = await replicator.syncOnce();
    assert.equal(initial.kind, 'initial');
    assert.deepEqual([initial.generation, initial.sequence], [1, 0]);
    assertReplicaMatches(initial.referencePoint);
    // Ranges the primary never wrote go as trims: a full copy leaves nothing stale on the replica.
    assert.ok(sink.recordCounts.trim > 0);

    for (let cycle = 1; cycle <= 3; cycle += 1) {
      host.write(0, cycle * 512 * 1024, randomBytes(70_000 - (70_000 % 512)));
      host.write(1, 0, Buffer.alloc(64 * 1024)); // zeros: must travel as zero records
      const before = sink.headers.length;
      const result = await replicator.syncOnce();
      assert.equal(result.kind, 'delta');
      assert.deepEqual([result.generation, result.sequence], [1, cycle]);
      assertReplicaMatches(result.referencePoint);
      const logs = sink.headers.slice(before);
      assert.equal(logs.length, 2, 'one log per disk');
      assert.ok(result.changedBytes < 4 * MiB, 'a delta carries the changes, not the disk');
    }
    assert.ok(sink.recordCounts.zero > 0);
    const saved = JSON.parse(await readFile(stateFile, 'utf8')) as { sequence: number };
    assert.equal(saved.sequence, 3);
    assert.equal(host.points.length, 1, 'only the last acknowledged point stays');
  });

  it('keeps the old point when delivery fails, and the next cycle carries the union of changes', async () => {
    await replicator.syncOnce();
    host.write(0, 0, randomBytes(64 * 1024));
    sink.failBeforeStore = 1;
    await assert.rejects(replicator.syncOnce(), /injected network failure/);
    assert.equal(host.points.length, 1, 'the failed point was discarded, the acknowledged one kept');
    host.write(0, 2 * MiB, randomBytes(64 * 1024));
    const next = await replicator.syncOnce();
    assert.deepEqual([next.generation, next.sequence], [1, 1], 'the failed cycle did not consume a sequence');
    assert.equal(next.changedBytes, 2 * 64 * 1024, 'both cycles worth of changes');
    assertReplicaMatches(next.referencePoint);
  });

  it('resends the union under the same sequence when the acknowledgement was lost', async () => {
    await replicator.syncOnce();
    host.write(1, 0, randomBytes(64 * 1024));
    sink.loseAck = 1;
    await assert.rejects(replicator.syncOnce(), /lost acknowledgement/);
    host.write(1, 128 * 1024, randomBytes(64 * 1024));
    const next = await replicator.syncOnce();
    assert.deepEqual([next.generation, next.sequence], [1, 1]);
    assertReplicaMatches(next.referencePoint);
  });

  it('writes the next state while it delivers, puts it in place only on the acknowledgement, and leaves nothing of a failed cycle', async () => {
    await replicator.syncOnce();
    const acknowledged = await readFile(stateFile, 'utf8');
    const aside = async () => (await readdir(dir.path)).filter((name) => name !== 'primary.json');
    const deliver = sink.deliver.bind(sink);
    const during: { state: string; ahead: string[] }[] = [];
    sink.deliver = async (cycle) => {
      // The state written ahead appears beside the state file while the logs are still on their way.
      for (let waited = 0; (await aside()).length === 0 && waited < 5_000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
      const ahead = await Promise.all((await aside()).map((name) => readFile(join(dir.path, name), 'utf8')));
      during.push({ state: await readFile(stateFile, 'utf8'), ahead });
      return deliver(cycle);
    };
    host.write(0, 0, randomBytes(64 * 1024));
    const delta = await replicator.syncOnce();
    assert.equal(during.length, 1);
    assert.equal(during[0]!.state, acknowledged, 'the state in place is the last acknowledged one until the replica answers');
    assert.deepEqual(during[0]!.ahead.map((text) => (JSON.parse(text) as { sequence: number }).sequence), [delta.sequence], 'the next state was written ahead');
    assert.equal((JSON.parse(await readFile(stateFile, 'utf8')) as { sequence: number }).sequence, delta.sequence);
    assert.deepEqual(await aside(), [], 'put in place by renaming what was written ahead');
    const saved = await readFile(stateFile, 'utf8');
    sink.failBeforeStore = 1;
    host.write(0, MiB, randomBytes(64 * 1024));
    await assert.rejects(replicator.syncOnce(), /injected network failure/);
    assert.equal(await readFile(stateFile, 'utf8'), saved, 'a failed delivery leaves the acknowledged state');
    assert.deepEqual(await aside(), [], 'and nothing written ahead behind it');
  });

  it('keeps a cycle the replica acknowledged when writing its state ahead failed for a passing reason', async () => {
    // The state's folder cannot be made when the cycle starts (a link to a folder not there yet stands for a full
    // volume or a scanner holding it), and can be long before the replica acknowledges.
    const late = join(dir.path, 'late');
    const lateState = join(dir.path, 'failover', 'primary.json');
    await symlink(late, join(dir.path, 'failover'));
    const deliver = sink.deliver.bind(sink);
    sink.deliver = async (cycle) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      await mkdir(late);
      return deliver(cycle);
    };
    host.write(0, 0, randomBytes(64 * 1024));
    const initial = await new Replicator({ host, vm: 'mem-vm', sink, stateFile: lateState, readChunkBytes: 256 * 1024 }).syncOnce();
    assert.equal(initial.kind, 'initial');
    assert.equal((JSON.parse(await readFile(lateState, 'utf8')) as { referencePoint: string }).referencePoint, initial.referencePoint, 'written after the acknowledgement instead');
    assert.equal(host.points.length, 1, 'the acknowledged point is kept');
  });

  it('removes a state written ahead that a killed cycle left, once it is old', async () => {
    await replicator.syncOnce();
    const left = join(dir.path, '.primary.json.4242.abc.00ff00ff.tmp');
    const recent = join(dir.path, '.primary.json.4243.abd.00ff00fe.tmp');
    await writeFile(left, '{}');
    await writeFile(recent, '{}');
    const hourAgo = new Date(Date.now() - 3600_000);
    await utimes(left, hourAgo, hourAgo);
    host.write(0, 0, randomBytes(64 * 1024));
    await replicator.syncOnce();
    assert.deepEqual((await readdir(dir.path)).filter((name) => name.endsWith('.tmp')), ['.primary.json.4243.abd.00ff00fe.tmp'], 'the old one went, a recent one (a command writing the state now) stays');
  });

  it('finishes a commit that failed after the acknowledgement on the next cycle', async () => {
    await replicator.syncOnce();
    host.write(0, 0, randomBytes(64 * 1024));
    host.failNext.commitReferencePoint = 1;
    await assert.rejects(replicator.syncOnce(), /injected commit failure/);
    assert.equal(host.points.length, 2, 'the acknowledged point is kept, not discarded');
    host.write(0, MiB, randomBytes(64 * 1024));
    const next = await replicator.syncOnce();
    assert.deepEqual([next.generation, next.sequence], [1, 2]);
    assertReplicaMatches(next.referencePoint);
    assert.equal(host.points.length, 1);
  });

  it('in the background mode, returns at the acknowledgement and the next cycle waits for the commit', async () => {
    const background = new Replicator({ host, vm: 'mem-vm', sink, stateFile, readChunkBytes: 256 * 1024, commitInBackground: true });
    await background.syncOnce();
    await commitsSettled();
    host.write(0, 0, randomBytes(64 * 1024));
    let open!: () => void;
    host.commitGate = new Promise<void>((resolve) => (open = resolve));
    const first = await background.syncOnce();
    assert.equal(first.sequence, 1);
    assert.deepEqual(host.points.map((p) => p.point.state), ['committed', 'frozen'], 'acknowledged and saved, not yet committed');
    assertReplicaMatches(first.referencePoint);
    // Writes after the point go to the next cycle, whether or not the commit is over.
    host.write(1, MiB, randomBytes(64 * 1024));
    const next = background.syncOnce();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(host.points.length, 2, 'the next cycle takes no point while the commit runs');
    open();
    host.commitGate = undefined;
    const second = await next;
    assert.deepEqual([second.generation, second.sequence], [1, 2]);
    assertReplicaMatches(second.referencePoint);
    await commitsSettled();
    assert.deepEqual(host.points.map((p) => [p.point.id, p.point.state]), [[second.referencePoint, 'committed']]);
  });

  it('in the background mode, a commit that fails is finished by the next cycle and nothing is lost', async () => {
    const background = new Replicator({ host, vm: 'mem-vm', sink, stateFile, readChunkBytes: 256 * 1024, commitInBackground: true });
    await background.syncOnce();
    await commitsSettled();
    host.write(0, 0, randomBytes(64 * 1024));
    host.failNext.commitReferencePoint = 1;
    const first = await background.syncOnce();
    await commitsSettled();
    assert.equal(host.failNext.commitReferencePoint, 0, 'the commit ran and failed');
    assert.equal(host.points.length, 2, 'the acknowledged point is kept, not discarded');
    host.write(0, 2 * MiB, randomBytes(64 * 1024));
    const second = await background.syncOnce();
    assert.deepEqual([first.sequence, second.sequence], [1, 2]);
    assertReplicaMatches(second.referencePoint);
    await commitsSettled();
    assert.equal(host.points.length, 1);
  });

  it('discards the point when reading the frozen image fails', async () => {
    await replicator.syncOnce();
    host.write(0, 0, randomBytes(64 * 1024));
    host.failNext.openDiskAt = 1;
    await assert.rejects(replicator.syncOnce(), /injected read failure/);
    assert.equal(host.points.length, 1);
    const next = await replicator.syncOnce();
    assert.equal(next.sequence, 1);
    assertReplicaMatches(next.referencePoint);
  });

  it('sends a full copy in a new generation when tracking continuity is lost', async () => {
    await replicator.syncOnce();
    host.write(0, 0, randomBytes(64 * 1024));
    host.forgetHistory = true;
    await assert.rejects(replicator.syncOnce(), (error: { code?: string }) => error.code === 'ERR_RESYNC_REQUIRED');
    host.forgetHistory = false;
    const next = await replicator.syncOnce();
    assert.equal(next.kind, 'initial');
    assert.deepEqual([next.generation, next.sequence], [2, 0]);
    assertReplicaMatches(next.referencePoint);
  });

  it('refuses a second cycle of the same VM while one runs', async () => {
    const first = replicator.syncOnce();
    await assert.rejects(replicator.syncOnce(), (error: { code?: string }) => error.code === 'ERR_CYCLE_IN_PROGRESS');
    await first;
  });

  it('describes the replica disks with stable GUIDs', async () => {
    const spec = replicaDisksOf(await host.getVm());
    assert.equal(spec.vmId, host.vmId);
    assert.equal(spec.disks.length, 2);
    assert.equal(spec.disks[0]!.diskId, diskLogId(host.vmId, 'disk0'));
    assert.notEqual(spec.disks[0]!.diskId, spec.disks[1]!.diskId);
    assert.match(spec.disks[0]!.diskId, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
