import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EARLY_WRITEBACK_BYTES, EarlyWriteback, SecondDescriptorWriteback } from '../../src/storage/early-writeback.js';
import { tempDir } from '../helpers/paths.js';

/** A file handle whose datasync the test settles by hand. */
function fakeHandle() {
  const calls: { resolve: () => void; reject: (error: Error) => void }[] = [];
  return {
    calls,
    datasync: () => new Promise<void>((resolve, reject) => calls.push({ resolve, reject })),
  };
}

describe('early writeback', () => {
  it('starts one background sync per threshold of bytes written, never two at once', async () => {
    const handle = fakeHandle();
    const writeback = new EarlyWriteback(handle, 100);
    writeback.written(60);
    assert.equal(handle.calls.length, 0, 'below the threshold nothing is synced');
    writeback.written(60);
    assert.equal(handle.calls.length, 1);
    writeback.written(500);
    assert.equal(handle.calls.length, 1, 'a sync still running is not doubled');
    handle.calls[0]!.resolve();
    await writeback.settle();
    writeback.written(100);
    assert.equal(handle.calls.length, 2);
    handle.calls[1]!.resolve();
    await writeback.settle();
  });

  it('settle waits for the running sync and keeps reporting its failure', async () => {
    const handle = fakeHandle();
    const writeback = new EarlyWriteback(handle, 10);
    writeback.written(10);
    let settled = false;
    const settling = writeback.settle().then(
      () => (settled = true),
      (error: unknown) => error,
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, 'settle waits for the sync in flight');
    handle.calls[0]!.reject(Object.assign(new Error('I/O error'), { code: 'EIO' }));
    assert.equal(((await settling) as NodeJS.ErrnoException).code, 'EIO');
    // The failure stays: a later fsync on the same descriptor may not report it again.
    await assert.rejects(writeback.settle(), { code: 'EIO' });
    writeback.written(100);
    assert.equal(handle.calls.length, 1, 'no further syncs after a failure');
  });
});

describe('early writeback through a second descriptor', () => {
  it('syncs a file others write, closes its descriptor once however often asked, and is absent for a file that is not there', async () => {
    const dir = tempDir('second-descriptor');
    try {
      assert.equal(await SecondDescriptorWriteback.open(join(dir.path, 'missing')), undefined);
      const path = join(dir.path, 'file');
      await writeFile(path, Buffer.alloc(0));
      const writeback = await SecondDescriptorWriteback.open(path);
      assert.ok(writeback);
      await appendFile(path, Buffer.alloc(EARLY_WRITEBACK_BYTES, 1));
      writeback.written(EARLY_WRITEBACK_BYTES);
      await writeback.settle();
      await writeback.close();
      await writeback.close();
      assert.equal((await readFile(path)).length, EARLY_WRITEBACK_BYTES, 'the file is left as written');
    } finally {
      dir.cleanup();
    }
  });
});
