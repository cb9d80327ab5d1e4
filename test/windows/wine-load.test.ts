// The Windows x64 addon is cross-compiled with mingw-w64; this loads it in real Windows node.exe under Wine,
// once under its own name and once renamed (the delay-load hook must resolve N-API from any executable).
// Wine has no Hyper-V, so the Windows-only features must report ERR_NOT_SUPPORTED rather than break the load.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { repoRoot, tempDir } from '../helpers/paths.js';

interface WineSetup {
  prefix: string;
  nodeExe: string;
}

const prebuild = join(repoRoot, 'prebuilds', 'win32-x64', 'hvreplica.node');

function runUnderWine(setup: WineSetup, exe: string): Record<string, unknown> {
  const out = tempDir('wine');
  try {
    const result = join(out.path, 'result.json');
    // Wine's node.exe cannot write to pipes (EBADF): give it files.
    const child = spawnSync(
      'sh',
      ['-c', `wine "$0" "$1" "$2" > "$3/stdout.txt" 2> "$3/stderr.txt"`, exe, join(repoRoot, 'dist', 'test', 'windows', 'wine-smoke.js'), result, out.path],
      { env: { ...process.env, WINEPREFIX: setup.prefix, WINEDEBUG: '-all', PREBUILDS_ONLY: '1', HVR_ADDON_PATH: '' }, timeout: 120_000 },
    );
    const log = () => `${readFileSync(join(out.path, 'stdout.txt'), 'utf8')}${readFileSync(join(out.path, 'stderr.txt'), 'utf8')}`;
    assert.equal(child.status, 0, `wine node.exe exited with ${child.status}: ${log()}`);
    assert.ok(existsSync(result), `no result from node.exe: ${log()}`);
    return JSON.parse(readFileSync(result, 'utf8')) as Record<string, unknown>;
  } finally {
    out.cleanup();
  }
}

describe('Windows x64 addon under Wine', () => {
  let setup: WineSetup;

  before(() => {
    assert.ok(existsSync(prebuild), 'prebuilds/win32-x64/hvreplica.node is missing: run "npm run build:win" (needs mingw-w64)');
    setup = JSON.parse(execFileSync(process.execPath, [join(repoRoot, 'scripts', 'setup-wine.mjs')], { encoding: 'utf8' })) as WineSetup;
  });

  it('is a PE DLL for x86-64', () => {
    const header = readFileSync(prebuild).subarray(0, 4096);
    assert.equal(header.toString('latin1', 0, 2), 'MZ');
    const pe = header.readUInt32LE(0x3c);
    assert.equal(header.toString('latin1', pe, pe + 4), 'PE\0\0');
    assert.equal(header.readUInt16LE(pe + 4), 0x8664, 'machine is AMD64');
    assert.ok((header.readUInt16LE(pe + 22) & 0x2000) !== 0, 'characteristics say DLL');
    assert.ok(statSync(prebuild).size > 0);
  });

  for (const exeName of ['node.exe', 'hvtool.exe']) {
    it(`loads in Windows node as ${exeName} and maps errors to NativeError`, () => {
      let exe = setup.nodeExe;
      if (exeName !== 'node.exe') {
        exe = join(setup.nodeExe, '..', exeName);
        copyFileSync(setup.nodeExe, exe);
      }
      const outcome = runUnderWine(setup, exe);
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
    });
  }
});
