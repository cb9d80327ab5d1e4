import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { storageLockFile, withStorageLock } from '../../src/replica/storage-lock.js';
import { heldUntilRead } from '../../src/util/held-until-read.js';

/** The hold the extended cycle uses: the cross-process storage lock of a replica folder. */
function storageHold(folder: string) {
  return (body: (held: string) => Promise<void>) => withStorageLock(folder, 'test read', () => body(folder));
}

describe('heldUntilRead: a storage lock held only while the source is read', () => {
  let root: string;
  let folder: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'hvr-held-'));
    folder = join(root, 'vm');
    await mkdir(folder);
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('releases the lock at read() while the sending goes on, and returns what it sent', async () => {
    let finishSending!: () => void;
    const sendingMayFinish = new Promise<void>((resolve) => (finishSending = resolve));
    let lockedBeforeRead: boolean | undefined;
    let lockedAfterRead: boolean | undefined;
    let readCalled!: () => void;
    const wasRead = new Promise<void>((resolve) => (readCalled = resolve));
    const outcome = heldUntilRead(storageHold(folder), async (held, read) => {
      lockedBeforeRead = existsSync(storageLockFile(held));
      await read();
      lockedAfterRead = existsSync(storageLockFile(held));
      readCalled();
      await sendingMayFinish;
      return 'sent';
    });
    await wasRead;
    assert.equal(lockedBeforeRead, true, 'the lock was held while reading');
    assert.equal(lockedAfterRead, false, 'read() resolves once the lock is released');
    assert.equal(existsSync(storageLockFile(folder)), false, 'and it stays released while the sending still runs');
    finishSending();
    assert.equal(await outcome, 'sent');
  });

  it('gives the failure of a send that fails while holding, with the lock released', async () => {
    await assert.rejects(
      heldUntilRead(storageHold(folder), async () => {
        throw new Error('read failed');
      }),
      /read failed/,
    );
    assert.equal(existsSync(storageLockFile(folder)), false);
  });

  it('gives the failure of a send that fails after read()', async () => {
    await assert.rejects(
      heldUntilRead(storageHold(folder), async (_held, read) => {
        await read();
        await new Promise((r) => setTimeout(r, 5));
        throw new Error('upload failed');
      }),
      /upload failed/,
    );
    assert.equal(existsSync(storageLockFile(folder)), false);
  });
});
