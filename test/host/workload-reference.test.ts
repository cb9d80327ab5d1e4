/**
 * The file host end to end: a VM, a workload writing while reference points are taken, committed and
 * discarded; the frozen images must equal the content at each instant (rebuilt from the workload's
 * journal) and the checkpoint tracker must list exactly the ranges written between two points.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReferencePoint } from '../../src/host/host-adapter.js';
import { FileHost } from '../../src/host/file/file-host.js';
import { runWorkload, workloadData, type JournalEntry, type WorkloadReport } from '../../src/host/file/workload.js';
import { collectChanges } from '../../src/tracking/change-tracker.js';
import { openDisk } from '../../src/vhdx/index.js';
import { tempDir } from '../helpers/paths.js';
import { ContentModel } from '../tracking/content-model.js';
import { normalize, type Interval } from '../tracking/intervals.js';

const MiB = 1024 * 1024;

function readJournal(path: string): JournalEntry[] {
  // The writer may be mid-line: only whole lines count.
  return readFileSync(path, 'utf8').split('\n').slice(0, -1).map((line) => JSON.parse(line) as JournalEntry);
}

/** Waits for the journal to grow; fails as soon as the workload itself fails. */
async function waitForEntries(path: string, count: number, workload: Promise<unknown>): Promise<void> {
  let failed: unknown;
  workload.catch((error: unknown) => (failed = error ?? new Error('workload failed')));
  for (;;) {
    if (failed) throw failed;
    try {
      if (readJournal(path).length >= count) return;
    } catch {
      // not created yet
    }
    await sleep(10);
  }
}

function model(entries: JournalEntry[], disk: string, size: number): ContentModel {
  const content = new ContentModel(size);
  for (const e of entries) {
    if (e.disk !== disk) continue;
    content.write(e.offset, e.op === 'write' ? workloadData(e.length, e.dataSeed!) : Buffer.alloc(e.length));
  }
  return content;
}

async function assertImageEquals(host: FileHost, point: ReferencePoint, disk: string, expected: ContentModel): Promise<void> {
  const image = await host.openDiskAt('web01', point.id, disk);
  try {
    for (let at = 0; at < image.virtualSize; at += 4 * MiB) {
      const length = Math.min(4 * MiB, image.virtualSize - at);
      const actual = await image.read(at, length);
      assert.ok(actual.equals(expected.read(at, length)), `disk ${disk} at point ${point.id}: content differs in [${at}, ${at + length})`);
    }
  } finally {
    await image.close();
  }
}

/** SHA-256 of a whole image, read 4 MiB at a time. */
async function sha256Of(image: { read(offset: number, length: number): Promise<Buffer> }, size: number): Promise<string> {
  const hash = createHash('sha256');
  for (let at = 0; at < size; at += 4 * MiB) hash.update(await image.read(at, Math.min(4 * MiB, size - at)));
  return hash.digest('hex');
}

/** SHA-256 of the virtual content of the VHDX chain topped by `path` (the live disk: no point names it). */
async function chainSha256(path: string): Promise<string> {
  const disk = await openDisk(path, { writable: false });
  try {
    return await sha256Of(disk, disk.info.virtualSize);
  } finally {
    await disk.close();
  }
}

/** SHA-256 of a point's image of `disk`, read through the host. */
async function pointSha256(host: FileHost, point: ReferencePoint, disk: string): Promise<string> {
  const image = await host.openDiskAt('web01', point.id, disk);
  try {
    return await sha256Of(image, image.virtualSize);
  } finally {
    await image.close();
  }
}

describe('file host: workload and reference points', () => {
  const dir = tempDir('file-host-e2e');
  const host = new FileHost({ root: dir.path });
  const journal = join(dir.path, 'journal.jsonl');
  const sizes: Record<string, number> = { disk0: 48 * MiB, disk1: 16 * MiB };
  const disks = Object.keys(sizes);
  const points: ReferencePoint[] = [];
  /** Per point and disk, the layer file the point created (where the writes after it go). */
  const newLayers: Array<Record<string, string>> = [];
  let report: WorkloadReport;
  let entries: JournalEntry[];

  const takePoint = async (): Promise<ReferencePoint> => {
    const point = await host.createReferencePoint('web01');
    const description = await host.getVm('web01');
    newLayers.push(Object.fromEntries(description.disks.map((d) => [d.id, basename(d.currentPath)])));
    return point;
  };

  /** The writes that reached `disk` before point `index` was taken (the journal is in lock order). */
  const writesBefore = (index: number, disk: string): JournalEntry[] => {
    const ofDisk = entries.filter((e) => e.disk === disk);
    const firstAfter = ofDisk.findIndex((e) => e.layer === newLayers[index]![disk]);
    return firstAfter < 0 ? ofDisk : ofDisk.slice(0, firstAfter);
  };

  const ranges = (list: JournalEntry[]): Interval[] => normalize(list.map((e) => [e.offset, e.offset + e.length] as Interval));

  before(async () => {
    await host.createVm({ name: 'web01', disks: [sizes.disk0!, sizes.disk1!], blockSize: 1 * MiB });
    await host.startVm('web01');
    const stop = new AbortController();
    const running = runWorkload(host, {
      vm: 'web01', seed: 4242, batch: 3, minSize: 512, maxSize: 192 * 1024, hotFraction: 0.2, hotShare: 0.7,
      zeroShare: 0.1, trimShare: 0.05, journal, signal: stop.signal,
    });
    // Points are taken while the workload keeps writing; after each, wait for more writes to land.
    await waitForEntries(journal, 40, running);
    points.push(await takePoint());
    await waitForEntries(journal, readJournal(journal).length + 60, running);
    points.push(await takePoint());
    await waitForEntries(journal, readJournal(journal).length + 60, running);
    stop.abort();
    report = await running;
    entries = readJournal(journal);
  });

  after(() => dir.cleanup());

  it('kept writing across the points, each batch into the layer current at that moment', () => {
    assert.equal(report.writes, entries.length);
    assert.ok(report.zeroWrites > 0 && report.trims > 0, 'zero writes and trims happened');
    for (const disk of disks) {
      const layers = entries.filter((e) => e.disk === disk).map((e) => e.layer);
      const distinct = [...new Set(layers)];
      assert.deepEqual(distinct, [`${disk}.vhdx`, newLayers[0]![disk], newLayers[1]![disk]], `${disk}: base, then each new layer`);
      // Once a layer is frozen nothing lands in it again: the journal visits the layers in order.
      for (let i = 1; i < distinct.length; i++) {
        assert.ok(layers.lastIndexOf(distinct[i - 1]!) < layers.indexOf(distinct[i]!), `${disk}: no write into a frozen layer`);
      }
    }
  });

  it('freezes each image exactly as it was when the point was taken', async () => {
    for (const [index, point] of points.entries()) {
      for (const disk of disks) await assertImageEquals(host, point, disk, model(writesBefore(index, disk), disk, sizes[disk]!));
    }
  });

  it('lists with the checkpoint tracker exactly the ranges written between the two points', async () => {
    const [first, second] = points as [ReferencePoint, ReferencePoint];
    for (const disk of disks) {
      const written = ranges(writesBefore(1, disk).slice(writesBefore(0, disk).length));
      assert.ok(written.length > 0);
      const tracker = await host.changeTracker('web01', second.id, disk);
      const listed = normalize((await collectChanges(tracker.changesSince(first.id))).map((e) => [e.offset, e.offset + e.length] as Interval));
      assert.deepEqual(listed, written);
      await tracker.close();
    }
  });

  it('commits the first point, whose image is the base, without touching any file or the tracking', async () => {
    const [first, second] = points as [ReferencePoint, ReferencePoint];
    const listing = async (): Promise<unknown> => collectChanges((await host.changeTracker('web01', second.id, 'disk0')).changesSince(first.id));
    const before = await listing();
    const layersBefore = (await host.getVm('web01')).disks.map((d) => d.currentPath);
    const committed = await host.commitReferencePoint('web01', first.id);
    assert.equal(committed.state, 'committed');
    const description = await host.getVm('web01');
    assert.deepEqual(description.referencePoints.map((p) => [p.id, p.state]), [[first.id, 'committed'], [second.id, 'frozen']]);
    assert.deepEqual(description.disks.map((d) => d.currentPath), layersBefore);
    for (const disk of disks) await assertImageEquals(host, committed, disk, model(writesBefore(0, disk), disk, sizes[disk]!));
    assert.deepEqual(await listing(), before);
    await assert.rejects(host.discardReferencePoint('web01', first.id), (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_STATE');
  });

  it('commits a later point by merging its layers into the base and re-parenting the newer layer onto it', async () => {
    const [, second] = points as [ReferencePoint, ReferencePoint];
    await runWorkload(host, { vm: 'web01', seed: 7, batch: 4, minSize: 512, maxSize: 64 * 1024, trimShare: 0.1, maxWrites: 40, journal });
    points.push(await takePoint());
    await runWorkload(host, { vm: 'web01', seed: 8, batch: 4, minSize: 512, maxSize: 64 * 1024, zeroShare: 0.2, maxWrites: 30, journal });
    entries = readJournal(journal);
    const third = points[2]!;
    const listing = async (disk: string): Promise<unknown> => collectChanges((await host.changeTracker('web01', third.id, disk)).changesSince(second.id));
    const before = await Promise.all(disks.map(listing));
    const described = await host.getVm('web01');
    const layersBefore = described.disks.map((d) => d.currentPath);
    const folder = dirname(described.disks[0]!.basePath);
    // Hashes taken before the commit: merging and re-parenting must change no image, live or frozen.
    const hashesBefore = await Promise.all(disks.map(async (disk) => ({
      second: await pointSha256(host, second, disk),
      third: await pointSha256(host, third, disk),
      live: await chainSha256(layersBefore[disks.indexOf(disk)]!),
    })));

    const committed = await host.commitReferencePoint('web01', second.id);
    const description = await host.getVm('web01');
    // The older committed point is gone; the committed one is now the oldest.
    assert.deepEqual(description.referencePoints.map((p) => [p.id, p.state]), [[second.id, 'committed'], [third.id, 'frozen']]);
    for (const [i, d] of description.disks.entries()) {
      // Layers above the committed point keep their files (the lowest is re-parented, not rebuilt), so the writer's path stays valid.
      assert.equal(d.currentPath, layersBefore[i], `${d.id}: the live layer keeps its file`);
      assert.equal(committed.disks.find((x) => x.diskId === d.id)!.frozenPath, d.basePath, `${d.id}: the committed image is the base`);
    }
    for (const [i, disk] of disks.entries()) {
      assert.equal(await pointSha256(host, committed, disk), hashesBefore[i]!.second, `${disk}: the committed image is unchanged`);
      assert.equal(await pointSha256(host, description.referencePoints[1]!, disk), hashesBefore[i]!.third, `${disk}: the newer point's image is unchanged`);
      assert.equal(await chainSha256(description.disks[i]!.currentPath), hashesBefore[i]!.live, `${disk}: the live disk is unchanged`);
      await assertImageEquals(host, committed, disk, model(writesBefore(1, disk), disk, sizes[disk]!));
      await assertImageEquals(host, description.referencePoints[1]!, disk, model(writesBefore(2, disk), disk, sizes[disk]!));
    }
    // The merged layer (created by the first point, frozen by the second) is deleted; nothing else is left.
    const diskFiles = (await readdir(folder)).filter((f) => /\.a?vhdx$/i.test(f)).sort();
    const expected = disks.flatMap((disk) => [`${disk}.vhdx`, newLayers[1]![disk]!, newLayers[2]![disk]!]).sort();
    assert.deepEqual(diskFiles, expected, 'only the base and the layers still in a chain remain');
    assert.deepEqual(await Promise.all(disks.map(listing)), before, 'tracking is unchanged by the commit');
  });

  it('discards the newest point: its writes stay and show up in the next point', async () => {
    const second = points[1]!;
    const third = points[2]!;
    await host.discardReferencePoint('web01', third.id);
    const fourth = await host.createReferencePoint('web01');
    for (const disk of disks) {
      await assertImageEquals(host, fourth, disk, model(entries, disk, sizes[disk]!));
      const tracker = await host.changeTracker('web01', fourth.id, disk);
      const listed = normalize((await collectChanges(tracker.changesSince(second.id))).map((e) => [e.offset, e.offset + e.length] as Interval));
      assert.deepEqual(listed, ranges(entries.filter((e) => e.disk === disk).slice(writesBefore(1, disk).length)));
      await assert.rejects(collectChanges(tracker.changesSince(third.id)), (e: unknown) => (e as { code?: string }).code === 'ERR_RESYNC_REQUIRED');
    }
  });
});
