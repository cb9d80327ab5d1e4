import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeLog } from '../../src/protocol/log-decoder.js';
import { createVhdxReplicaStorage, openVhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import type { StoredState } from '../../src/storage/replica-state.js';
import type { ReplicaStorage } from '../../src/storage/replica-storage.js';
import { mergeDisk, openDisk } from '../../src/vhdx/index.js';
import { tempDir } from '../helpers/paths.js';
import { replicaStorageContract, type StorageFixture } from './contract.js';
import { DISKS, DiskModel, encode, ManualClock, MiB, randomRecords, readAll, sha, stream } from './fixtures.js';
import { VM_ID } from './fixtures.js';

const BLOCK = 1024 * 1024;

/** Files and apparent bytes under disks/: what retention has to keep bounded. */
async function diskUsage(root: string): Promise<{ layers: number; bases: number; bytes: number; names: string[] }> {
  const names = await readdir(join(root, 'disks'));
  let bytes = 0;
  for (const name of names) bytes += (await stat(join(root, 'disks', name))).size;
  return { layers: names.filter((n) => n.endsWith('.avhdx')).length, bases: names.filter((n) => n.endsWith('.vhdx')).length, bytes, names };
}

/** Every point still reads as it did when it was sealed. */
async function checkPoints(storage: ReplicaStorage, expected: Map<string, Record<string, string>>, when: string): Promise<void> {
  for (const point of await storage.listRecoveryPoints()) {
    for (const d of DISKS) {
      const disk = await storage.openRecoveryPoint(point.id, d.diskId);
      try {
        assert.equal(sha(await readAll(disk)), expected.get(point.id)![d.diskId], `${when}: point ${point.sequence}, disk ${d.diskId}`);
      } finally {
        await disk.close();
      }
    }
  }
}

async function makeFixture(): Promise<StorageFixture & { root: string }> {
  const dir = tempDir('replica-storage');
  const root = join(dir.path, VM_ID);
  const clock = new ManualClock();
  return {
    root,
    clock,
    create: (settings) => createVhdxReplicaStorage(root, { vmId: VM_ID, disks: DISKS, blockSize: BLOCK, clock: clock.read, ...(settings ? { settings } : {}) }),
    reopen: () => openVhdxReplicaStorage(root, { clock: clock.read }),
    cleanup: async () => dir.cleanup(),
  };
}

replicaStorageContract('VHDX', makeFixture);

describe('VhdxReplicaStorage', () => {
  it('re-applies a log interrupted half-way (crash mid-apply) to exactly the same content', async () => {
    const f = await makeFixture();
    try {
      const storage = await f.create();
      const model = new DiskModel();
      const initial = { generation: 1, sequence: 0, base: '', next: 'rp-0' };
      for (const disk of DISKS) {
        const recs = randomRecords(disk.virtualSize, 10);
        await storage.receive(stream(await encode(disk.diskId, initial, recs)));
        model.apply(disk.diskId, recs);
      }
      await storage.applyPending();
      const delta = { generation: 1, sequence: 1, base: 'rp-0', next: 'rp-1' };
      const logs = new Map<string, Buffer>();
      for (const disk of DISKS) {
        const recs = randomRecords(disk.virtualSize, 20);
        logs.set(disk.diskId, await encode(disk.diskId, delta, recs));
        await storage.receive(stream(logs.get(disk.diskId)!));
        model.apply(disk.diskId, recs);
      }
      // The crash: the first disk's top layer got half of its records, the state was never updated.
      const state = JSON.parse(await readFile(join(f.root, 'state.json'), 'utf8')) as StoredState;
      const top = state.layers.at(-1)!;
      const disk = await openDisk(join(f.root, 'disks', top.files[DISKS[0]!.diskId]!), { writable: true });
      let applied = 0;
      for await (const entry of decodeLog(stream(logs.get(DISKS[0]!.diskId)!))) {
        if (entry.kind !== 'record' || applied++ >= 10) continue;
        const r = entry.record;
        if (r.type === 'data') await disk.write(r.offset, r.data);
        else await disk.zero(r.offset, r.length);
      }
      await disk.close();

      const restarted = await f.reopen();
      assert.equal((await restarted.status()).position?.sequence, 0, 'the interrupted cycle is not counted as applied');
      assert.equal((await restarted.applyPending()).applied.length, 1);
      for (const d of DISKS) {
        const latest = await restarted.openLatest(d.diskId);
        assert.equal(sha(await readAll(latest)), sha(model.disks.get(d.diskId)!), `disk ${d.diskId}`);
        await latest.close();
      }
    } finally {
      await f.cleanup();
    }
  });

  it('lays out standard VHDX chains: base .vhdx, one .avhdx per point, each layer parented on the one below', async () => {
    const f = await makeFixture();
    try {
      const storage = await f.create();
      const diskId = DISKS[0]!.diskId;
      let base = '';
      for (let s = 0; s <= 2; s += 1) {
        const spec = { generation: 1, sequence: s, base, next: `rp-${s}` };
        for (const d of DISKS) await storage.receive(stream(await encode(d.diskId, spec, randomRecords(d.virtualSize, 3))));
        await storage.applyPending();
        await storage.seal();
        base = spec.next;
      }
      const files = await readdir(join(f.root, 'disks'));
      assert.ok(files.includes(`${diskId}.vhdx`));
      assert.equal(files.filter((n) => n.startsWith(diskId) && n.endsWith('.avhdx')).length, 3);
      const points = await storage.listRecoveryPoints();
      const newest = await storage.openRecoveryPoint(points.at(-1)!.id, diskId);
      assert.equal(newest.info.type, 'differencing');
      assert.equal(newest.info.chain.length, 3);
      assert.match(newest.info.chain.at(-1)!, /\.vhdx$/);
      await newest.close();
    } finally {
      await f.cleanup();
    }
  });

  it('finishes a retention merge interrupted by a crash when it opens', async () => {
    const f = await makeFixture();
    try {
      const storage = await f.create({ recoveryHistory: 5 });
      const model = new DiskModel();
      const expected: Array<Record<string, string>> = [];
      let base = '';
      for (let s = 0; s <= 2; s += 1) {
        const spec = { generation: 1, sequence: s, base, next: `rp-${s}` };
        for (const d of DISKS) {
          const recs = randomRecords(d.virtualSize, 8);
          await storage.receive(stream(await encode(d.diskId, spec, recs)));
          model.apply(d.diskId, recs);
        }
        await storage.applyPending();
        await storage.seal();
        expected.push(model.hashes());
        base = spec.next;
      }
      // The crash came right after the state recorded the intent to merge the second point's layer.
      const statePath = join(f.root, 'state.json');
      const state = JSON.parse(await readFile(statePath, 'utf8')) as StoredState;
      state.merging = { layerId: state.layers[1]!.id };
      await writeFile(statePath, JSON.stringify(state));
      const reopened = await f.reopen();
      const points = await reopened.listRecoveryPoints();
      assert.deepEqual(points.map((p) => p.sequence), [1, 2]);
      for (const [i, p] of points.entries()) {
        for (const d of DISKS) {
          const disk = await reopened.openRecoveryPoint(p.id, d.diskId);
          assert.equal(sha(await readAll(disk)), expected[i + 1]![d.diskId], `point ${p.sequence}`);
          await disk.close();
        }
      }
      assert.equal((JSON.parse(await readFile(statePath, 'utf8')) as StoredState).merging, undefined);
    } finally {
      await f.cleanup();
    }
  });

  it('keeps layer files and bytes bounded by recoveryHistory over many cycles; every point keeps its content', async () => {
    const f = await makeFixture();
    try {
      const history = 2;
      const storage = await f.create({ recoveryHistory: history });
      const model = new DiskModel();
      const expected = new Map<string, Record<string, string>>();
      // Per disk at most history + 1 files (the points' layers, the oldest in the base, and the top),
      // each at most its data plus 4 MiB of header/log/metadata/BAT and a 1 MiB sector bitmap.
      const bound = DISKS.reduce((sum, d) => sum + (d.virtualSize + 5 * MiB) * (history + 1), 0);
      let base = '';
      for (let s = 0; s < 14; s += 1) {
        const spec = { generation: 1, sequence: s, base, next: `rp-${s}` };
        for (const d of DISKS) {
          const recs = randomRecords(d.virtualSize, 12);
          await storage.receive(stream(await encode(d.diskId, spec, recs)));
          model.apply(d.diskId, recs);
        }
        await storage.applyPending();
        const point = await storage.seal();
        expected.set(point!.id, model.hashes());
        base = spec.next;
        const usage = await diskUsage(f.root);
        assert.equal(usage.bases, DISKS.length, `cycle ${s}: ${usage.names.join(', ')}`);
        assert.equal(usage.layers, DISKS.length * Math.min(s + 1, history), `cycle ${s}: merged layers must be deleted (${usage.names.join(', ')})`);
        assert.ok(usage.bytes <= bound, `cycle ${s}: ${usage.bytes} bytes on disk, more than the ${bound} that ${history} points can need`);
        await checkPoints(storage, expected, `cycle ${s}`);
      }
      assert.deepEqual((await storage.listRecoveryPoints()).map((p) => p.sequence), [12, 13]);
      const state = JSON.parse(await readFile(join(f.root, 'state.json'), 'utf8')) as StoredState;
      assert.equal(state.layers.length, history + 1);
      assert.equal(state.merging, undefined);
      const latest = await storage.openLatest(DISKS[0]!.diskId);
      assert.equal(latest.info.chain.length, history + 1, 'the chain is as short as the history');
      await latest.close();
    } finally {
      await f.cleanup();
    }
  });

  it('finishes a merge interrupted between re-parenting disks without merging again', async () => {
    const f = await makeFixture();
    try {
      const storage = await f.create({ recoveryHistory: 5 });
      const model = new DiskModel();
      const expected = new Map<string, Record<string, string>>();
      let base = '';
      for (let s = 0; s <= 2; s += 1) {
        const spec = { generation: 1, sequence: s, base, next: `rp-${s}` };
        for (const d of DISKS) {
          const recs = randomRecords(d.virtualSize, 8);
          await storage.receive(stream(await encode(d.diskId, spec, recs)));
          model.apply(d.diskId, recs);
        }
        await storage.applyPending();
        expected.set((await storage.seal())!.id, model.hashes());
        base = spec.next;
      }
      // The crash: every disk's merge of layer 1 into the base finished, the state says so, and the
      // first disk's layer 2 was already re-parented onto the base.
      const statePath = join(f.root, 'state.json');
      const state = JSON.parse(await readFile(statePath, 'utf8')) as StoredState;
      for (const file of Object.values(state.layers[1]!.files)) await mergeDisk(join(f.root, 'disks', file));
      const { reparentDisk } = await import('../../src/vhdx/index.js');
      const first = DISKS[0]!.diskId;
      await reparentDisk(join(f.root, 'disks', state.layers[2]!.files[first]!), join(f.root, 'disks', state.layers[0]!.files[first]!));
      const dropped = Object.values(state.layers[1]!.files);
      state.merging = { layerId: state.layers[1]!.id, reparenting: true };
      await writeFile(statePath, JSON.stringify(state));
      const reopened = await f.reopen();
      assert.deepEqual((await reopened.listRecoveryPoints()).map((p) => p.sequence), [1, 2]);
      await checkPoints(reopened, expected, 'after recovery');
      const names = await readdir(join(f.root, 'disks'));
      for (const file of dropped) assert.ok(!names.includes(file), `${file} was merged and must be gone`);
    } finally {
      await f.cleanup();
    }
  });

  it('deletes layers an earlier version merged and kept, once the engine proves they repeat their parent', async () => {
    const f = await makeFixture();
    try {
      const storage = await f.create({ recoveryHistory: 5 });
      const model = new DiskModel();
      const expected = new Map<string, Record<string, string>>();
      let base = '';
      const cycle = async (s: number): Promise<void> => {
        const spec = { generation: 1, sequence: s, base, next: `rp-${s}` };
        for (const d of DISKS) {
          const recs = randomRecords(d.virtualSize, 8);
          await storage.receive(stream(await encode(d.diskId, spec, recs)));
          model.apply(d.diskId, recs);
        }
        base = spec.next;
      };
      for (let s = 0; s <= 2; s += 1) {
        await cycle(s);
        await storage.applyPending();
        expected.set((await storage.seal())!.id, model.hashes());
      }
      // What the old retention left: layer 1 merged into the base, its point moved there, the file kept.
      const statePath = join(f.root, 'state.json');
      const state = JSON.parse(await readFile(statePath, 'utf8')) as StoredState;
      for (const file of Object.values(state.layers[1]!.files)) await mergeDisk(join(f.root, 'disks', file));
      state.layers[0]!.point = state.layers[1]!.point!;
      delete state.layers[1]!.point;
      state.layers[1]!.merged = true;
      const legacy = Object.values(state.layers[1]!.files);
      await writeFile(statePath, JSON.stringify(state));
      const reopened = await f.reopen();
      const sealed = (async () => {
        await cycle(3);
        await reopened.applyPending();
        expected.set((await reopened.seal())!.id, model.hashes());
      });
      // The reopened storage receives the next cycle; its seal runs retention.
      Object.assign(storage, {});
      const again = reopened;
      const spec = { generation: 1, sequence: 3, base, next: 'rp-3' };
      for (const d of DISKS) {
        const recs = randomRecords(d.virtualSize, 8);
        await again.receive(stream(await encode(d.diskId, spec, recs)));
        model.apply(d.diskId, recs);
      }
      await again.applyPending();
      expected.set((await again.seal())!.id, model.hashes());
      void sealed;
      const names = await readdir(join(f.root, 'disks'));
      for (const file of legacy) assert.ok(!names.includes(file), `${file} only repeated its parent and must be gone`);
      assert.deepEqual((await again.listRecoveryPoints()).map((p) => p.sequence), [1, 2, 3]);
      await checkPoints(again, expected, 'after dropping the old merged layer');
    } finally {
      await f.cleanup();
    }
  });

  it('removes what a crash left behind: layers and logs the state does not name', async () => {
    const f = await makeFixture();
    try {
      await f.create();
      const strayLayer = join(f.root, 'disks', `${DISKS[0]!.diskId}_deadbeef.avhdx`);
      await writeFile(strayLayer, 'half-created layer');
      await mkdir(join(f.root, 'incoming', '1-9'), { recursive: true });
      await writeFile(join(f.root, 'incoming', '.receive-x.tmp'), 'partial upload');
      await writeFile(join(f.root, '.state.json.123.x.tmp'), '{"torn":');
      const storage = await f.reopen();
      assert.deepEqual((await readdir(join(f.root, 'disks'))).sort(), DISKS.map((d) => `${d.diskId}.vhdx`).sort());
      assert.deepEqual(await readdir(join(f.root, 'incoming')), []);
      assert.deepEqual((await readdir(f.root)).sort(), ['disks', 'incoming', 'state.json']);
      assert.equal((await storage.status()).position, undefined);
    } finally {
      await f.cleanup();
    }
  });

  it('refuses to create over an existing replica and to open a folder without one', async () => {
    const f = await makeFixture();
    try {
      await f.create();
      await assert.rejects(f.create(), (error: { code?: string }) => error.code === 'ERR_STORAGE_EXISTS');
      await assert.rejects(openVhdxReplicaStorage(join(f.root, 'nothing')), (error: { code?: string }) => error.code === 'ERR_STORAGE_NOT_FOUND');
    } finally {
      await f.cleanup();
    }
  });
});
