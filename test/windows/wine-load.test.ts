// The Windows x64 addon is cross-compiled with mingw-w64; this loads it in real Windows node.exe under Wine,
// once under its own name and once renamed (the delay-load hook must resolve N-API from any executable).
// Wine has no Hyper-V, so the Windows-only features must report ERR_NOT_SUPPORTED rather than break the load.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { describe, it } from 'node:test';
import { runUnderWine, windowsAddon } from '../helpers/wine.js';

describe('Windows x64 addon under Wine', () => {
  it('is a PE DLL for x86-64', () => {
    const header = readFileSync(windowsAddon).subarray(0, 4096);
    assert.equal(header.toString('latin1', 0, 2), 'MZ');
    const pe = header.readUInt32LE(0x3c);
    assert.equal(header.toString('latin1', pe, pe + 4), 'PE\0\0');
    assert.equal(header.readUInt16LE(pe + 4), 0x8664, 'machine is AMD64');
    assert.ok((header.readUInt16LE(pe + 22) & 0x2000) !== 0, 'characteristics say DLL');
    assert.ok(statSync(windowsAddon).size > 0);
  });

  for (const exeName of ['node.exe', 'hvtool.exe']) {
    it(`loads in Windows node as ${exeName} and maps errors to NativeError`, () => {
      const { outcome, exe } = runUnderWine({ script: 'windows/wine-smoke.js', exeName, throughPrebuilds: true, timeoutMs: 120_000 });
      assert.equal(outcome.failure, undefined, String(outcome.failure));
      assert.equal(outcome.platform, 'win32');
      assert.match(String(outcome.execPath), new RegExp(`${exeName.replace('.', '\\.')}$`, 'i'));
      assert.match(String(outcome.version), /^\d+\.\d+\.\d+$/);
      // Wine's virtdisk.dll lacks QueryChangesVirtualDisk: the addon must load anyway and say so.
      assert.deepEqual((outcome.features as Record<string, unknown>).resilientChangeTracking, false);
      assert.equal((outcome.features as Record<string, unknown>).platform, 'win32');
      const rct = outcome.rctError as Record<string, unknown>;
      assert.equal(rct.code, 'ERR_NOT_SUPPORTED');
      assert.equal(rct.errno, 127); // ERROR_PROC_NOT_FOUND
      const missing = outcome.missingFileError as Record<string, unknown>;
      assert.equal(missing.code, 'ERR_NOT_FOUND');
      assert.ok(missing.errno === 2 || missing.errno === 3, `ERROR_FILE_NOT_FOUND or ERROR_PATH_NOT_FOUND, got ${String(missing.errno)}`);
      assert.equal(missing.syscall, 'CreateFileW');
      assert.equal(outcome.ownSize, statSync(exe).size);
      // A process's creation time names it (holder files, src/replica/holder-file.ts): known and stable for a live one.
      const [start, again] = outcome.ownStart as [unknown, unknown];
      assert.match(String(start), /^\d+$/);
      assert.equal(again, start);
      assert.equal(outcome.noProcessStart, null);
      // Wine's file system may or may not do sparse files; either way the call answers, with a writer open.
      assert.equal(typeof outcome.sparse, 'boolean');
      assert.equal(outcome.sparseThenWritten, 8 * 1024 * 1024 + 4096, 'the file is written past its hole');
      const sparseMissing = outcome.sparseMissingError as Record<string, unknown>;
      assert.equal(sparseMissing.code, 'ERR_NOT_FOUND');
      assert.equal(sparseMissing.syscall, 'CreateFileW');
    });
  }
});
