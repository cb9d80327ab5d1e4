/**
 * The one contract every change tracker passes (checkpoint, hash, and rct through its fake). A harness
 * gives the suite a disk to write the way a guest does and a way to take reference points; the suite keeps
 * its own model of the content and checks each listing against what was really written:
 *   - every byte written since the older point is reported (for a content-based tracker: every byte whose
 *     content changed), and
 *   - nothing is reported outside the units (the tracker's granularity) that a write touched, and
 *   - extents are sorted, disjoint, coalesced, aligned, inside the disk; 'zero' extents read as zeros.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { collectChanges, isResyncRequired, type ChangedExtent, type ChangeTracker } from '../../src/tracking/change-tracker.js';
import { ContentModel } from './content-model.js';
import { normalize, roundOut, subtract, totalLength, type Interval } from './intervals.js';

export interface TrackerHarness {
  readonly virtualSize: number;
  readonly sectorSize: number;
  /** True when the tracker compares content (hash): writes that change nothing may go unreported. */
  readonly contentBased: boolean;
  /** Writes as a guest would; unaligned writes are the harness's to widen to whole sectors. */
  write(offset: number, data: Buffer): Promise<void>;
  zero(offset: number, length: number): Promise<void>;
  trim(offset: number, length: number): Promise<void>;
  /** Takes a reference point; returns a tracker bound to it (the suite closes it). */
  referencePoint(): Promise<ChangeTracker>;
  /** Makes `id` unusable the way this tracker's world loses continuity. */
  invalidate(id: string): Promise<void>;
  close(): Promise<void>;
}

export const GiB = 1024 * 1024 * 1024;
export const MiB = 1024 * 1024;
/** Past 4 GiB, so a VHDX with 512-byte sectors has a chunk (sector bitmap block) boundary inside. */
export const CONTRACT_DISK_SIZE = 4 * GiB + 8 * MiB;

/** Deterministic bytes (xorshift32) so a failure reproduces. */
export function patternBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x & 0xff) | 1; // never zero, so "data" is always distinguishable from zeros
  }
  return out;
}

class Scenario {
  readonly model: ContentModel;
  private written: Interval[] = [];
  readonly trackers: ChangeTracker[] = [];
  readonly history: Array<{ tracker: ChangeTracker; id: string; model: ContentModel; writtenSincePrevious: Interval[] }> = [];

  constructor(readonly harness: TrackerHarness) {
    this.model = new ContentModel(harness.virtualSize);
  }

  private widen(offset: number, length: number): Interval {
    const s = this.harness.sectorSize;
    return [Math.floor(offset / s) * s, Math.ceil((offset + length) / s) * s];
  }

  async write(offset: number, data: Buffer): Promise<void> {
    await this.harness.write(offset, data);
    this.model.write(offset, data);
    this.written.push(this.widen(offset, data.length));
  }

  async zero(offset: number, length: number, trim = false): Promise<void> {
    await (trim ? this.harness.trim(offset, length) : this.harness.zero(offset, length));
    this.model.write(offset, Buffer.alloc(length));
    this.written.push(this.widen(offset, length));
  }

  async point(): Promise<{ tracker: ChangeTracker; id: string }> {
    const tracker = await this.harness.referencePoint();
    this.trackers.push(tracker);
    const id = await tracker.enable();
    assert.equal(await tracker.currentId(), id, 'currentId() names the bound state');
    const entry = { tracker, id, model: this.model.clone(), writtenSincePrevious: normalize(this.written) };
    this.history.push(entry);
    this.written = [];
    return { tracker, id };
  }

  /** Checks the listing from history[from] to history[to] against what was written in between. */
  async check(from: number, to: number): Promise<ChangedExtent[]> {
    const older = this.history[from]!;
    const newer = this.history[to]!;
    const written = normalize(this.history.slice(from + 1, to + 1).flatMap((h) => h.writtenSincePrevious));
    const extents = await collectChanges(newer.tracker.changesSince(older.id));
    const { virtualSize } = this.harness;
    const granularity = newer.tracker.granularity;

    let previousEnd = -1;
    let previousKind = '';
    for (const e of extents) {
      assert.ok(e.length > 0 && e.offset >= 0 && e.offset + e.length <= virtualSize, `extent inside the disk: ${JSON.stringify(e)}`);
      assert.ok(e.offset >= previousEnd, `extents sorted and disjoint at ${e.offset}`);
      assert.ok(!(e.offset === previousEnd && e.kind === previousKind), `neighbours of one kind are coalesced at ${e.offset}`);
      assert.equal(e.offset % granularity, 0, `extent start aligned to ${granularity}: ${e.offset}`);
      const end = e.offset + e.length;
      assert.ok(end % granularity === 0 || end === virtualSize, `extent end aligned to ${granularity}: ${end}`);
      if (e.kind === 'zero') assert.ok(newer.model.read(e.offset, e.length).every((b) => b === 0), `'zero' extent at ${e.offset} reads zeros`);
      previousEnd = end;
      previousKind = e.kind;
    }
    const reported = normalize(extents.map((e) => [e.offset, e.offset + e.length] as Interval));
    const required = this.harness.contentBased ? changedSectors(older.model, newer.model, written, this.harness.sectorSize) : written;
    assert.deepEqual(subtract(required, reported), [], 'every changed byte is reported');
    const allowed = roundOut(written, granularity, virtualSize);
    assert.deepEqual(subtract(reported, allowed), [], `nothing reported outside the ${granularity}-byte units written`);
    return extents;
  }

  async close(): Promise<void> {
    for (const tracker of this.trackers) await tracker.close();
    await this.harness.close();
  }
}

function changedSectors(before: ContentModel, after: ContentModel, written: Interval[], sector: number): Interval[] {
  const out: Interval[] = [];
  for (const [s, e] of written) {
    const a = before.read(s, e - s);
    const b = after.read(s, e - s);
    for (let at = 0; at < e - s; at += sector) {
      if (a.compare(b, at, at + sector, at, at + sector) !== 0) out.push([s + at, s + at + sector]);
    }
  }
  return normalize(out);
}

export function trackerContract(name: string, makeHarness: () => Promise<TrackerHarness>): void {
  describe(`change tracker contract: ${name}`, () => {
    let scenario: Scenario;
    const fresh = async (): Promise<Scenario> => {
      if (scenario) await scenario.close();
      scenario = new Scenario(await makeHarness());
      return scenario;
    };
    before(async () => {
      await fresh();
    });
    after(async () => {
      await scenario.close();
    });

    it('reports nothing when nothing was written, and ignores what was written before the older point', async () => {
      const s = await fresh();
      await s.write(3 * MiB, patternBytes(64 * 1024, 1));
      await s.point();
      await s.point();
      assert.deepEqual(await s.check(0, 1), []);
    });

    it('reports sector-unaligned writes', async () => {
      const s = await fresh();
      await s.point();
      await s.write(1000, patternBytes(100, 2));
      await s.write(5 * MiB + 511, patternBytes(2, 3));
      await s.write(7 * MiB + 100, patternBytes(5000, 4));
      await s.point();
      assert.ok((await s.check(0, 1)).length >= 1);
    });

    it('reports writes across block and chunk boundaries', async () => {
      const s = await fresh();
      await s.point();
      await s.write(2 * MiB - 4096, patternBytes(8192, 5)); // 2 MiB block boundary
      await s.write(32 * MiB - 512, patternBytes(1024, 6)); // 32 MiB block boundary
      await s.write(4 * GiB - 3 * 4096, patternBytes(6 * 4096, 7)); // 4 GiB chunk boundary (512-byte sectors)
      await s.write(CONTRACT_DISK_SIZE - 1024, patternBytes(1024, 8)); // the last sectors of the disk
      await s.point();
      await s.check(0, 1);
    });

    it('reports overlapping writes once, as their union', async () => {
      const s = await fresh();
      await s.point();
      await s.write(10 * MiB, patternBytes(300 * 1024, 9));
      await s.write(10 * MiB + 100 * 1024, patternBytes(400 * 1024, 10));
      await s.write(10 * MiB + 50 * 1024, patternBytes(10 * 1024, 11));
      await s.write(9 * MiB + 1000 * 1024, patternBytes(30 * 1024, 12));
      await s.point();
      const extents = await s.check(0, 1);
      const reported = totalLength(extents.map((e) => [e.offset, e.offset + e.length] as Interval));
      assert.ok(reported >= 500 * 1024 && reported < 3 * MiB, `union reported once (${reported} bytes)`);
    });

    it('reports zero writes over data (and, unless content-based, over zeros)', async () => {
      const s = await fresh();
      await s.write(20 * MiB, patternBytes(MiB, 13));
      await s.point();
      await s.zero(20 * MiB + 64 * 1024, 128 * 1024);
      await s.write(21 * MiB + 4096, Buffer.alloc(8192)); // zeros written as data
      await s.zero(40 * MiB, 256 * 1024); // zeros over zeros
      await s.point();
      await s.check(0, 1);
    });

    it('reports trims', async () => {
      const s = await fresh();
      await s.write(24 * MiB, patternBytes(4 * MiB, 14));
      await s.point();
      await s.zero(24 * MiB, 2 * MiB, true); // a whole block
      await s.zero(26 * MiB + 512, 3 * 512, true); // a few sectors
      await s.point();
      await s.check(0, 1);
    });

    it('lists changes between any two successive points and across several', async () => {
      const s = await fresh();
      await s.point();
      await s.write(1 * MiB, patternBytes(64 * 1024, 15));
      await s.point();
      await s.write(50 * MiB, patternBytes(64 * 1024, 16));
      await s.write(1 * MiB, patternBytes(4096, 17));
      await s.point();
      const recent = await s.check(1, 2);
      assert.ok(!recent.some((e) => e.offset <= 1 * MiB + 32 * 1024 && e.offset + e.length > 1 * MiB + 32 * 1024 && e.offset > 1 * MiB + 4096));
      await s.check(0, 2);
    });

    it('reports seeded random writes of every shape', async () => {
      const s = await fresh();
      await s.point();
      let x = 12345;
      const rand = (n: number): number => {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        return x % n;
      };
      for (let i = 0; i < 40; i++) {
        const offset = rand(64) * MiB + rand(2048) * 512 + (rand(4) === 0 ? rand(512) : 0);
        const length = 1 + rand(4) * 512 + rand(3) * 64 * 1024;
        const kind = rand(6);
        if (kind === 0) await s.zero(Math.floor(offset / 512) * 512, Math.ceil(length / 512) * 512);
        else if (kind === 1) await s.zero(Math.floor(offset / 512) * 512, Math.ceil(length / 512) * 512, true);
        else await s.write(offset, patternBytes(length, 100 + i));
      }
      await s.point();
      await s.check(0, 1);
    });

    it('changes its id when the content changes', async () => {
      const s = await fresh();
      const a = await s.point();
      await s.write(2 * MiB, patternBytes(4096, 18));
      const b = await s.point();
      assert.notEqual(a.id, b.id);
    });

    it('fails with "resync required" for an invalidated id', async () => {
      const s = await fresh();
      const a = await s.point();
      await s.write(2 * MiB, patternBytes(4096, 19));
      const b = await s.point();
      await s.harness.invalidate(a.id);
      await assert.rejects(collectChanges(b.tracker.changesSince(a.id)), (error: unknown) => isResyncRequired(error));
    });

    it('fails with "resync required" for an id it never issued', async () => {
      const s = await fresh();
      const a = await s.point();
      const foreign = a.id.replace(/[0-9a-f]/g, (c) => (c === '0' ? '1' : '0'));
      await assert.rejects(collectChanges(a.tracker.changesSince(foreign)), (error: unknown) => isResyncRequired(error));
      await assert.rejects(collectChanges(a.tracker.changesSince('not an id')), (error: unknown) => isResyncRequired(error));
    });
  });
}
