/**
 * The replica's kept hash manifests (src/replica/kept-manifest.ts, manifest-keeper.ts): whatever happened
 * since one was kept — cycles into the top layer, seals, retention merges (into the base too), a base
 * replaced by another file — what is served must equal a full hash of the content at the position it
 * names, and the kept one must be used (not recomputed) where what changed can be told.
 */
import assert from 'node:assert/strict';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { imageOf } from '../../src/failover/disk-sync.js';
import { bringUpToDate, chainIdentity, changedFrom, keptKinds, keptManifestPath, loadKept, saveKept, type LayerIdentity, type ManifestKind } from '../../src/replica/kept-manifest.js';
import { ManifestKeeper } from '../../src/replica/manifest-keeper.js';
import { UploadActivity, UploadBeganError } from '../../src/replica/upload-activity.js';
import { createVhdxReplicaStorage, type VhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { encodeManifest, hashImage } from '../../src/tracking/index.js';
import { createDisk, openDisk } from '../../src/vhdx/index.js';
import { tempDir } from '../helpers/paths.js';
import { DISKS, encode, ManualClock, MiB, randomRecords, stream, VM_ID } from '../storage/fixtures.js';

/** Every kind is kept side by side: two block sizes of SHA-256 and the BLAKE3 primaries prefer. */
const KINDS: ManifestKind[] = [
  { blockSize: 64 * 1024, algorithm: 'sha256' },
  { blockSize: 4096, algorithm: 'sha256' },
  { blockSize: 64 * 1024, algorithm: 'blake3' },
];
/** What the background keeper is told primaries compare with. */
const KEEPER_KIND: ManifestKind = { blockSize: 64 * 1024, algorithm: 'blake3' };

async function fullHash(storage: VhdxReplicaStorage, diskId: string, { blockSize, algorithm }: ManifestKind): Promise<Buffer> {
  const image = imageOf(await storage.openLatest(diskId));
  try {
    return encodeManifest(await hashImage(image, { blockSize, algorithm, parallelism: 1 }));
  } finally {
    await image.close();
  }
}

async function positionOf(storage: VhdxReplicaStorage): Promise<{ position: string; referencePoint: string }> {
  const status = await storage.status();
  return { position: status.position!.toString(), referencePoint: status.referencePoint };
}

/** Keeps the manifest of every disk at every block size, computed in full (what a first request does). */
async function keepInFull(storage: VhdxReplicaStorage): Promise<void> {
  const now = await positionOf(storage);
  for (const d of DISKS) {
    for (const { blockSize, algorithm } of KINDS) {
      const image = imageOf(await storage.openLatest(d.diskId));
      const manifest = await hashImage(image, { blockSize, algorithm, parallelism: 1 }).finally(() => image.close());
      await saveKept(storage.root, { meta: { format: 1, diskId: d.diskId, blockSize, ...now, chain: await chainIdentity(storage, d.diskId) }, manifest });
    }
  }
}

/** Brings every kept manifest up to date; each must equal a full hash. Returns how many could be (the rest: undefined). */
async function checkKept(storage: VhdxReplicaStorage, when: string): Promise<number> {
  const now = await positionOf(storage);
  let updated = 0;
  for (const d of DISKS) {
    for (const kind of KINDS) {
      const { blockSize } = kind;
      const kept = await loadKept(storage.root, d.diskId, kind);
      assert.ok(kept, `${when}: a kept manifest of ${d.diskId} at ${blockSize}`);
      assert.equal(kept.manifest.algorithm, kind.algorithm);
      const bytes = await bringUpToDate(storage, kept, now, { parallelism: 1 });
      if (!bytes) continue;
      updated += 1;
      assert.ok(bytes.equals(await fullHash(storage, d.diskId, kind)), `${when}: disk ${d.diskId} at ${blockSize}-byte blocks, ${kind.algorithm}`);
      const again = await loadKept(storage.root, d.diskId, kind);
      assert.equal(again!.meta.position, now.position, `${when}: stored at the new position`);
      assert.ok(encodeManifest(again!.manifest).equals(bytes), `${when}: stored as served`);
    }
  }
  return updated;
}

async function cycle(storage: VhdxReplicaStorage, generation: number, sequence: number, base: string, records = 6): Promise<string> {
  const spec = { generation, sequence, base, next: `rp-${generation}-${sequence}` };
  for (const d of DISKS) await storage.receive(stream(await encode(d.diskId, spec, randomRecords(d.virtualSize, records))));
  await storage.applyPending();
  return spec.next;
}

async function withStorage(history: number, body: (storage: VhdxReplicaStorage, root: string) => Promise<void>): Promise<void> {
  const dir = tempDir('kept-manifest');
  try {
    const root = join(dir.path, VM_ID);
    const storage = await createVhdxReplicaStorage(root, { vmId: VM_ID, disks: DISKS, blockSize: MiB, clock: new ManualClock().read, settings: { recoveryHistory: history } });
    await body(storage, root);
  } finally {
    dir.cleanup();
  }
}

describe('kept hash manifests', () => {
  for (const history of [1, 3]) {
    it(`equal a full hash after cycles, seals and retention merges (recovery history ${history})`, async () => {
      await withStorage(history, async (storage) => {
        let ref = await cycle(storage, 1, 0, '', 40);
        await keepInFull(storage);
        assert.equal(await checkKept(storage, 'unchanged'), DISKS.length * KINDS.length);
        // One file per block size and algorithm, SHA-256's named as before algorithms were kept apart.
        const order = (k: ManifestKind) => `${k.algorithm}/${k.blockSize}`;
        for (const d of DISKS) assert.deepEqual((await keptKinds(storage.root, d.diskId)).map(order).sort(), KINDS.map(order).sort());
        assert.match(keptManifestPath(storage.root, DISKS[0]!.diskId, KINDS[0]!), /-65536\.hvrman$/);
        assert.match(keptManifestPath(storage.root, DISKS[0]!.diskId, KINDS[2]!), /-65536-blake3\.hvrman$/);
        for (let s = 1; s <= 12; s += 1) {
          ref = await cycle(storage, 1, s, ref);
          // Kept at some points, not others: several cycles and seals may lie between two requests.
          if (s % 3 === 0) await storage.seal();
          if (s % 2 === 0) {
            const updated = await checkKept(storage, `after cycle ${s}`);
            // Every change lies in layers that can be told apart: nothing is recomputed in full.
            assert.equal(updated, DISKS.length * KINDS.length, `after cycle ${s}: brought up to date, not recomputed`);
          }
        }
        assert.ok((await storage.listRecoveryPoints()).length <= Math.max(1, history));
      });
    });
  }

  it('is not used when the base was replaced by another file (a new generation)', async () => {
    await withStorage(2, async (storage, root) => {
      await cycle(storage, 1, 0, '', 20);
      await keepInFull(storage);
      const diskId = DISKS[0]!.diskId;
      const base = join(root, 'disks', `${diskId}.vhdx`);
      // Another disk of the same geometry with other content, renamed over the base (what a staging base does).
      const staged = join(root, 'staged.vhdx');
      await createDisk(staged, { type: 'dynamic', virtualSize: DISKS[0]!.virtualSize, logicalSectorSize: 512, blockSize: MiB });
      const disk = await openDisk(staged, { writable: true });
      await disk.write(0, Buffer.alloc(MiB, 7));
      await disk.close();
      await rename(staged, base);
      const kept = await loadKept(root, diskId, KINDS[0]!);
      assert.equal(await bringUpToDate(storage, kept!, await positionOf(storage)), undefined);
    });
  });

  it('tells merges from dropped layers by the point the surviving layer carries', () => {
    const layer = (layerId: string, pointId?: string, file = `f-${layerId}`): LayerIdentity => ({ layerId, ...(pointId ? { pointId } : {}), file, written: 'w' });
    const kept = [layer('A', 'A'), layer('B', 'B'), layer('T')];
    assert.equal(changedFrom(kept, [layer('A', 'A'), layer('B', 'B'), layer('T', 'T'), layer('N')]), 2);
    // T merged into B (B takes T's point), later N into B as well.
    assert.equal(changedFrom(kept, [layer('A', 'A'), layer('B', 'T'), layer('N')]), 1);
    assert.equal(changedFrom(kept, [layer('A', 'N'), layer('M')]), 0);
    // T dropped: B shows its own point, or nothing above B is left.
    assert.equal(changedFrom(kept, [layer('A', 'A'), layer('B', 'B'), layer('N')]), undefined);
    assert.equal(changedFrom(kept, [layer('A', 'A'), layer('B')]), undefined);
    // A file replaced under its name, a layer below the kept ones, layers out of order.
    assert.equal(changedFrom(kept, [layer('A', 'A', 'other'), layer('B', 'B'), layer('T')]), undefined);
    assert.equal(changedFrom(kept, [layer('X'), layer('A', 'A'), layer('B', 'B'), layer('T')]), undefined);
    assert.equal(changedFrom(kept, [layer('A', 'A'), layer('T'), layer('B', 'B')]), undefined);
    assert.equal(changedFrom(kept, [layer('X'), layer('Y')]), undefined);
  });

  it('are computed in the background in slices, exact even when cycles arrive between slices', async () => {
    await withStorage(2, async (storage, root) => {
      let ref = await cycle(storage, 1, 0, '', 40);
      await storage.seal();
      let calls = 0;
      let sequence = 0;
      const keeper = new ManifestKeeper(
        root,
        async (_dir, _purpose, body) => {
          calls += 1;
          // A cycle (and, once, a seal) lands between slices, as uploads do while the keeper waits for the lock.
          if (calls % 3 === 0 && sequence < 4) {
            sequence += 1;
            ref = await cycle(storage, 1, sequence, ref);
            if (sequence === 2) await storage.seal();
          }
          return body(storage);
        },
        { blockSizeFor: () => 64 * 1024, algorithm: 'blake3', sliceBytes: MiB },
      );
      for (let round = 0; round < 4 && !(await keeper.keep(root)); round += 1);
      assert.ok(sequence > 0, 'cycles arrived while the manifest was computed');
      const now = await positionOf(storage);
      for (const d of DISKS) {
        const kept = await loadKept(root, d.diskId, KEEPER_KIND);
        assert.ok(kept, `kept for ${d.diskId} (${keptManifestPath(root, d.diskId, KEEPER_KIND)})`);
        const bytes = await bringUpToDate(storage, kept, now, { parallelism: 1 });
        assert.ok(bytes?.equals(await fullHash(storage, d.diskId, KEEPER_KIND)), `disk ${d.diskId}`);
      }
      // Many changes into the top layer wait for its seal (they would be hashed again after every cycle)...
      const exact = async (when: string): Promise<void> => {
        for (const d of DISKS) {
          const kept = await loadKept(root, d.diskId, KEEPER_KIND);
          assert.equal(kept!.meta.position, (await positionOf(storage)).position, `${when}: disk ${d.diskId} at the position now`);
          assert.ok(encodeManifest(kept!.manifest).equals(await fullHash(storage, d.diskId, KEEPER_KIND)), `${when}: disk ${d.diskId}`);
        }
      };
      sequence += 1;
      ref = await cycle(storage, 1, sequence, ref, 40);
      assert.equal(await keeper.keep(root), true);
      for (const d of DISKS) assert.notEqual((await loadKept(root, d.diskId, KEEPER_KIND))!.meta.position, (await positionOf(storage)).position, 'waits for the seal');
      // ...then are hashed in slices, only them.
      await storage.seal();
      assert.equal(await keeper.keep(root), true);
      await exact('after the seal');
      // A small change is brought in at once.
      sequence += 1;
      ref = await cycle(storage, 1, sequence, ref, 1);
      assert.equal(await keeper.keep(root), true);
      await exact('after a small cycle');
      await keeper.close();
    });
  });
  it('give way to log uploads: a slice running when one begins stops, and is hashed again once uploads are quiet', async () => {
    await withStorage(2, async (storage, root) => {
      let ref = await cycle(storage, 1, 0, '', 40);
      await storage.seal();
      const uploads = new UploadActivity();
      let calls = 0;
      let sequence = 0;
      let gaveWay = 0;
      let hashedDuringUpload = 0;
      let uploading: (() => void) | undefined;
      const keeper = new ManifestKeeper(
        root,
        async (_dir, _purpose, body) => {
          calls += 1;
          if (calls !== 2) {
            const result = await body(storage);
            if (uploading) hashedDuringUpload += 1;
            return result;
          }
          // The first slice: an upload begins as it starts, and its cycle lands while the slice would run.
          uploading = uploads.begin();
          sequence += 1;
          ref = await cycle(storage, 1, sequence, ref);
          try {
            return await body(storage);
          } catch (error) {
            if (error instanceof UploadBeganError) gaveWay += 1;
            throw error;
          } finally {
            const end = uploading;
            uploading = undefined;
            setImmediate(end);
          }
        },
        { blockSizeFor: () => KEEPER_KIND.blockSize, algorithm: KEEPER_KIND.algorithm, sliceBytes: 8 * MiB, idleMs: 1, uploads },
      );
      for (let round = 0; round < 4 && !(await keeper.keep(root)); round += 1);
      assert.equal(gaveWay, 1, 'the slice running when the upload began stopped');
      assert.equal(hashedDuringUpload, 0, 'nothing was hashed while the upload ran');
      const now = await positionOf(storage);
      for (const d of DISKS) {
        const kept = await loadKept(root, d.diskId, KEEPER_KIND);
        assert.ok(kept, `kept for ${d.diskId}`);
        const bytes = await bringUpToDate(storage, kept, now, { parallelism: 1 });
        assert.ok(bytes?.equals(await fullHash(storage, d.diskId, KEEPER_KIND)), `disk ${d.diskId} equals a full hash`);
      }
      await keeper.close();
    });
  });

  it('know when uploads are quiet (UploadActivity)', () => {
    let now = 1_000;
    const uploads = new UploadActivity(() => now);
    assert.equal(uploads.busy(100), false);
    const before = uploads.untilNextUpload();
    const end = uploads.begin();
    assert.ok(before.aborted && before.reason instanceof UploadBeganError, 'work started before the upload is told to stop');
    assert.equal(uploads.busy(100), true);
    const during = uploads.untilNextUpload();
    now += 50;
    end();
    end();
    assert.equal(uploads.busy(100), true, 'quiet only a while after the last upload ended');
    now += 100;
    assert.equal(uploads.busy(100), false);
    assert.equal(during.aborted, false, 'an upload already running does not stop work started after it');
  });
});
