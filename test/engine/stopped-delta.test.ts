/**
 * A delta cycle whose delivery stops early (an upload failed, the cycle was cancelled) while its read-ahead
 * still waits for the change tracker's next extent: the tracker is closed only once that listing is over,
 * never under it (an RCT tracker's close ends the native session a query is still running on).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ChangeTracker, ChangedExtent } from '../../src/tracking/change-tracker.js';
import type { DeliveryAck, LogSink, OutgoingCycle } from '../../src/engine/log-sink.js';
import { Replicator } from '../../src/engine/replicator.js';
import { loadPrimaryState } from '../../src/engine/primary-state.js';
import { tempDir } from '../helpers/paths.js';
import { MemoryHost } from './memory-host.js';
import { MemorySink } from './memory-sink.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Reads a log's first chunks, then fails, as an upload that broke off. */
class BreakingSink implements LogSink {
  async deliver(cycle: OutgoingCycle): Promise<DeliveryAck> {
    let chunks = 0;
    for await (const _chunk of cycle.logs[0]!.encode()) if ((chunks += 1) >= 2) break;
    throw new Error('the upload broke off');
  }
}

describe('a delta cycle stopped while the tracker lists its changes', () => {
  let dir: { path: string; cleanup: () => void };
  beforeEach(() => (dir = tempDir('stopped-delta')));
  afterEach(() => dir.cleanup());

  it('closes the tracker only after its pending listing ended, and leaves the primary\'s state as it was', async () => {
    const host = new MemoryHost([4 * MiB]);
    const stateFile = join(dir.path, 'primary.json');
    host.write(0, 0, randomBytes(64 * KiB));
    await new Replicator({ host, vm: 'mem-vm', sink: new MemorySink(), stateFile }).syncOnce();
    const before = await loadPrimaryState(stateFile);
    // Two separate changed extents: the second is listed only when the test lets it.
    host.write(0, 0, randomBytes(64 * KiB));
    host.write(0, 2 * MiB, randomBytes(64 * KiB));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let asked!: () => void;
    const secondAsked = new Promise<void>((resolve) => (asked = resolve));
    const uses: string[] = [];
    let closed = false;
    const changeTracker = host.changeTracker.bind(host);
    host.changeTracker = async (vm, point, disk): Promise<ChangeTracker> => {
      const tracker = await changeTracker(vm, point, disk);
      return {
        ...tracker,
        async *changesSince(since, options): AsyncIterable<ChangedExtent> {
          let n = 0;
          for await (const extent of tracker.changesSince(since, options)) {
            if ((n += 1) === 2) {
              asked();
              await held;
            }
            uses.push(closed ? 'listed after close' : 'listed');
            yield extent;
          }
        },
        close: async () => {
          closed = true;
          await tracker.close();
        },
      };
    };
    const cycle = new Replicator({ host, vm: 'mem-vm', sink: new BreakingSink(), stateFile }).syncOnce();
    await secondAsked;
    // The sink stops reading while the second extent's listing is pending; it ends only after.
    await assert.rejects(cycle, /the upload broke off/);
    release();
    for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(uses, ['listed', 'listed'], 'no extent was listed by a closed tracker');
    assert.equal(closed, true, 'the tracker was closed once its listing ended');
    assert.deepEqual(await loadPrimaryState(stateFile), before, 'the failed cycle left the position as it was');
    assert.equal((await host.getVm()).referencePoints.filter((p) => p.state === 'frozen').length, 0, 'its point was discarded');
  });
});
