/**
 * The RCT tracker's own behaviour against the fake virtdisk: the documented state query, the loop over
 * partial results, and each way tracking continuity is lost mapped to a typed "resync required".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { binding } from '../../src/native/binding.js';
import { NativeError } from '../../src/native/native-error.js';
import { collectChanges, ResyncRequiredError, type ResyncReason } from '../../src/tracking/change-tracker.js';
import { FakeVirtDisk } from '../../src/tracking/rct/fake-virtdisk.js';
import { RctTracker } from '../../src/tracking/rct/rct-tracker.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const TiB = 1024 * 1024 * MiB;

async function setup(virtualSize = 64 * MiB, granularity = 64 * KiB): Promise<{ fake: FakeVirtDisk; path: string; first: string }> {
  const fake = new FakeVirtDisk();
  const path = 'D:\\Hyper-V\\web01\\disk0.vhdx';
  fake.addDisk(path, { virtualSize, granularity });
  const tracker = await RctTracker.open({ path, virtdisk: fake, granularity });
  const first = await tracker.enable();
  await tracker.close();
  return { fake, path, first };
}

function rejectsWith(reason: ResyncReason, errno?: number): (error: unknown) => boolean {
  return (error: unknown) =>
    error instanceof ResyncRequiredError && error.code === 'ERR_RESYNC_REQUIRED' && error.reason === reason && (errno === undefined || error.errno === errno);
}

describe('rct tracker (fake virtdisk)', () => {
  it('reads the tracking state and size through GetVirtualDiskInformation', async () => {
    const { fake, path, first } = await setup();
    assert.match(first, /^rctX:[0-9a-f:]+:00000001$/);
    fake.write(path, 0, 4096);
    const tracker = await RctTracker.open({ path, virtdisk: fake });
    const info = await tracker.info();
    assert.deepEqual(
      { enabled: info.enabled, newerChanges: info.newerChanges, virtualSize: info.virtualSize, sectorSize: info.sectorSize },
      { enabled: true, newerChanges: true, virtualSize: 64 * MiB, sectorSize: 512 },
    );
    assert.equal(tracker.granularity, info.blockSize, 'without a known unit the block size bounds the ranges');
    await tracker.close();
  });

  it('lists only changes sealed by the newest reference point, not later live writes', async () => {
    const { fake, path, first } = await setup();
    fake.write(path, 1 * MiB, 100);
    fake.seal(path);
    fake.write(path, 8 * MiB, 100); // after the point: belongs to the next one
    const tracker = await RctTracker.open({ path, virtdisk: fake, granularity: 64 * KiB });
    assert.deepEqual(await collectChanges(tracker.changesSince(first)), [{ offset: 1 * MiB, length: 64 * KiB, kind: 'unknown' }]);
    await tracker.close();
  });

  for (const behaviour of [
    { maxRangesPerCall: 1, partialStatus: 0 as const },
    { maxRangesPerCall: 2, partialStatus: 234 as const },
    { maxBytesPerCall: 96 * KiB, partialStatus: 234 as const },
  ]) {
    it(`follows ProcessedLength through partial results (${JSON.stringify(behaviour)})`, async () => {
      const { fake, path, first } = await setup();
      const expected: Array<{ offset: number; length: number; kind: 'unknown' }> = [];
      for (let i = 0; i < 20; i++) {
        const offset = i * 3 * MiB + (i % 2) * 64 * KiB;
        fake.write(path, offset, 100 * KiB); // spans two 64 KiB units
        expected.push({ offset, length: 128 * KiB, kind: 'unknown' });
      }
      fake.seal(path);
      fake.setQueryBehaviour(path, behaviour);
      const tracker = await RctTracker.open({ path, virtdisk: fake, granularity: 64 * KiB, pageRanges: 3 });
      assert.deepEqual(await collectChanges(tracker.changesSince(first)), expected);
      assert.ok(fake.queryCalls(path) >= 10, `the listing took many calls (${fake.queryCalls(path)})`);
      await tracker.close();
    });
  }

  it('streams a 1 TiB disk in bounded pages', async () => {
    const { fake, path, first } = await setup(TiB, 64 * KiB);
    for (let i = 0; i < 1000; i++) fake.write(path, i * 1024 * MiB + 512 * KiB, 4096);
    fake.seal(path);
    const tracker = await RctTracker.open({ path, virtdisk: fake, granularity: 64 * KiB, pageRanges: 64 });
    let count = 0;
    let last = -1;
    for await (const extent of tracker.changesSince(first)) {
      assert.ok(extent.offset > last);
      last = extent.offset;
      count++;
    }
    assert.equal(count, 1000);
    await tracker.close();
  });

  it('maps a disabled tracker to ERROR_VHD_CHANGE_TRACKING_DISABLED → resync required', async () => {
    const { fake, path, first } = await setup();
    const tracker = await RctTracker.open({ path, virtdisk: fake });
    const { trackingBinding } = await import('../../src/tracking/rct/rct-binding.js');
    const session = await trackingBinding().rctOpen(fake.raw, path, false);
    await trackingBinding().rctSetEnabled(session, false);
    trackingBinding().rctClose(session);
    await assert.rejects(tracker.currentId(), rejectsWith('tracking-disabled'));
    await assert.rejects(collectChanges(tracker.changesSince(first)), rejectsWith('tracking-disabled', 0xc03a002a | 0));
    await tracker.close();
  });

  it('maps offline modification to ERROR_CTLOG_VHD_CHANGED_OFFLINE → resync required', async () => {
    const { fake, path, first } = await setup();
    fake.modifyOffline(path);
    const tracker = await RctTracker.open({ path, virtdisk: fake });
    await assert.rejects(collectChanges(tracker.changesSince(first)), rejectsWith('changed-offline', 0xc03a0022 | 0));
    await tracker.close();
  });

  it('maps discarded history to ERROR_VHD_MISSING_CHANGE_TRACKING_INFORMATION → resync required', async () => {
    const { fake, path, first } = await setup();
    const second = fake.seal(path);
    fake.forgetBefore(path, second);
    const tracker = await RctTracker.open({ path, virtdisk: fake });
    await assert.rejects(collectChanges(tracker.changesSince(first)), rejectsWith('history-lost', 0xc03a0030 | 0));
    assert.deepEqual(await collectChanges(tracker.changesSince(second)), []);
    await tracker.close();
  });

  it('maps ids of another disk, from the future, or malformed to ERROR_VHD_INVALID_CHANGE_TRACKING_ID', async () => {
    const { fake, path, first } = await setup();
    const other = await setup();
    const tracker = await RctTracker.open({ path, virtdisk: fake });
    for (const id of [other.first, first.replace(/1$/, '9'), 'rctX:garbage']) {
      await assert.rejects(collectChanges(tracker.changesSince(id)), rejectsWith('invalid-id', 0xc03a0029 | 0), id);
    }
    await assert.rejects(collectChanges(tracker.changesSince('')), (e: unknown) => e instanceof NativeError && e.code === 'ERR_INVALID_ARGUMENT');
    await tracker.close();
  });

  it('reports a missing disk as ERR_NOT_FOUND and the system virtdisk off Windows as ERR_NOT_SUPPORTED', async () => {
    const fake = new FakeVirtDisk();
    await assert.rejects(RctTracker.open({ path: 'C:\\nope.vhdx', virtdisk: fake }), (e: unknown) => e instanceof NativeError && e.code === 'ERR_NOT_FOUND' && /ERROR_FILE_NOT_FOUND/.test(e.message));
    if (binding().hostFeatures().platform !== 'win32') {
      await assert.rejects(RctTracker.open({ path: '/tmp/x.vhdx' }), (e: unknown) => e instanceof NativeError && e.code === 'ERR_NOT_SUPPORTED');
    }
  });
});
