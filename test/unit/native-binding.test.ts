import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { binding } from '../../src/native/binding.js';
import { NativeError } from '../../src/native/native-error.js';
import { tempDir } from '../helpers/paths.js';

describe('native addon', () => {
  it('loads and reports its version and host features', () => {
    const addon = binding();
    assert.match(addon.version(), /^\d+\.\d+\.\d+$/);
    const features = addon.hostFeatures();
    assert.equal(features.platform, process.platform === 'win32' ? 'win32' : 'posix');
    if (process.platform !== 'win32') {
      assert.equal(features.resilientChangeTracking, false);
      assert.equal(features.volumeShadowCopy, false);
    }
  });

  it('reports a Windows-only feature as a typed "not supported" error', () => {
    assert.throws(
      () => binding().requireHostFeature('resilientChangeTracking'),
      (error: unknown) =>
        error instanceof NativeError && error.code === 'ERR_NOT_SUPPORTED' && /Resilient Change Tracking/.test(error.message),
    );
  });

  it('runs file work off the main thread and resolves a Promise', async () => {
    const dir = tempDir('addon');
    try {
      const file = join(dir.path, 'data.bin');
      writeFileSync(file, Buffer.alloc(12345, 7));
      const pending = binding().fileSize(file);
      assert.ok(pending instanceof Promise);
      assert.equal(await pending, 12345);
    } finally {
      dir.cleanup();
    }
  });

  it('maps OS errors to NativeError with a stable code and the OS error number', async () => {
    const dir = tempDir('addon');
    try {
      const missing = join(dir.path, 'absent.vhdx');
      await assert.rejects(binding().fileSize(missing), (error: unknown) => {
        assert.ok(error instanceof NativeError, 'a NativeError');
        assert.equal(error.code, 'ERR_NOT_FOUND');
        assert.equal(error.errno, 2); // ENOENT, and ERROR_FILE_NOT_FOUND on Windows
        assert.equal(error.syscall, process.platform === 'win32' ? 'CreateFileW' : 'open');
        assert.ok(error.message.includes(missing), 'the message names the file');
        return true;
      });
    } finally {
      dir.cleanup();
    }
  });

  it('marks a file sparse while another handle writes it; a missing file is a NativeError', async () => {
    const dir = tempDir('addon');
    try {
      const file = join(dir.path, 'received.partial');
      const writer = await open(file, 'w');
      try {
        // POSIX file systems leave holes unwritten anyway: true, and the file is untouched.
        assert.equal(await binding().markSparse(file), true);
        await writer.write(Buffer.alloc(4096, 1), 0, 4096, 8 * 1024 * 1024);
      } finally {
        await writer.close();
      }
      assert.equal(statSync(file).size, 8 * 1024 * 1024 + 4096);
      await assert.rejects(binding().markSparse(join(dir.path, 'absent.partial')), (error: unknown) => error instanceof NativeError && error.code === 'ERR_NOT_FOUND' && error.errno === 2);
      assert.throws(() => (binding() as unknown as { markSparse(value: unknown): unknown }).markSparse(7), TypeError);
    } finally {
      dir.cleanup();
    }
  });

  it('rejects misuse of the raw binding with a usage TypeError', () => {
    const raw = binding() as unknown as { fileSize(value: unknown): unknown };
    assert.throws(() => raw.fileSize(42), TypeError);
  });
});
