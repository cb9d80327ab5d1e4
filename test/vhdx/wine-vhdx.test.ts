// The Windows x64 build of the VHDX engine, run in Windows node.exe under Wine: the same create / write /
// differencing / map / merge sequence works through Win32 file I/O and Windows paths. Loads
// HVR_WIN_ADDON (default: .tmp/build-vhdx-win/Release/hvreplica.node, made by
// npx cmake-js rebuild --out .tmp/build-vhdx-win --CDCMAKE_TOOLCHAIN_FILE=$PWD/cmake/mingw-w64-x86_64.cmake).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/paths.js';
import { scratch } from './helpers.js';

const addon = process.env.HVR_WIN_ADDON ?? join(repoRoot, '.tmp', 'build-vhdx-win', 'Release', 'hvreplica.node');
const winPath = (p: string) => `Z:${p.replace(/\//g, '\\')}`;

describe('VHDX engine of the Windows addon under Wine', () => {
  it('creates, writes, chains, maps and merges like the Linux build', () => {
    assert.ok(existsSync(addon), `${addon} is missing: build it with npx cmake-js rebuild --out .tmp/build-vhdx-win --CDCMAKE_TOOLCHAIN_FILE=$PWD/cmake/mingw-w64-x86_64.cmake`);
    const setup = JSON.parse(execFileSync(process.execPath, [join(repoRoot, 'scripts', 'setup-wine.mjs')], { encoding: 'utf8' })) as {
      prefix: string;
      nodeExe: string;
    };
    const out = scratch('wine');
    try {
      const result = join(out.path, 'result.json');
      // Wine's node.exe cannot write to pipes (EBADF): give it files.
      const child = spawnSync(
        'sh',
        ['-c', `wine "$0" "$1" "$2" "$3" > "$4/stdout.txt" 2> "$4/stderr.txt"`, setup.nodeExe,
          join(repoRoot, 'dist', 'test', 'vhdx', 'wine-vhdx.js'), result, winPath(out.path), out.path],
        { env: { ...process.env, WINEPREFIX: setup.prefix, WINEDEBUG: '-all', HVR_ADDON_PATH: winPath(addon) }, timeout: 240_000 },
      );
      const log = (): string => `${readFileSync(join(out.path, 'stdout.txt'), 'utf8')}${readFileSync(join(out.path, 'stderr.txt'), 'utf8')}`;
      assert.equal(child.status, 0, `wine node.exe exited with ${child.status}: ${log()}`);
      assert.ok(existsSync(result), `no result from node.exe: ${log()}`);
      const r = JSON.parse(readFileSync(result, 'utf8')) as Record<string, unknown>;
      assert.equal(r.failure, undefined, String(r.failure));
      assert.equal(r.platform, 'win32');
      const dir = winPath(out.path);
      assert.deepEqual(r.chain, [`${dir}\\child.avhdx`, `${dir}\\base.vhdx`]);
      assert.equal(r.relativePath, '.\\base.vhdx');
      assert.deepEqual(r.read, [0, 0x5a, 0x11, 0x5a, 0x5a, 0]);
      assert.deepEqual(r.layer, [
        { offset: 0, length: 8192, state: 'absent' },
        { offset: 8192, length: 512, state: 'data' },
        { offset: 8704, length: 8 * 1024 * 1024 - 8704, state: 'absent' },
      ]);
      assert.deepEqual(r.merged, [0x5a, 0x11, 0x5a]);
      assert.equal(r.missing, 'ERR_NOT_FOUND');
    } finally {
      out.cleanup();
    }
  });
});
