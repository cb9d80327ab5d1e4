// The Windows x64 build of the RCT tracker, run in Windows node.exe under Wine: the GetProcAddress-resolved
// virtdisk table reports "not supported" where QueryChangesVirtualDisk is missing, and the loop over
// ProcessedLength behaves in the win32 build as on Linux. Loads HVR_WIN_ADDON (default:
// prebuilds/win32-x64/hvreplica.node, made by npm run build:win).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { repoRoot, tempDir } from '../helpers/paths.js';

const addon = process.env.HVR_WIN_ADDON ?? join(repoRoot, 'prebuilds', 'win32-x64', 'hvreplica.node');

type Outcome = Record<string, { ok?: unknown; error?: { code: string; errno: number; reason?: string; syscall?: string; message: string } } | unknown>;

describe('RCT tracker of the Windows addon under Wine', () => {
  let outcome: Outcome;

  before(() => {
    assert.ok(existsSync(addon), `${addon} is missing: build it with npm run build:win`);
    const prefix = join(repoRoot, '.tmp', 'wine', 'prefix');
    // wineboot creates the prefix but not its parent.
    mkdirSync(join(repoRoot, '.tmp', 'wine-track'), { recursive: true });
    const setup = JSON.parse(
      execFileSync(process.execPath, [join(repoRoot, 'scripts', 'setup-wine.mjs')], { encoding: 'utf8', env: { ...process.env, HVR_WINEPREFIX: prefix } }),
    ) as { prefix: string; nodeExe: string };
    const out = tempDir('wine-rct');
    try {
      const result = join(out.path, 'result.json');
      // Wine's node.exe cannot write to pipes (EBADF): give it files.
      const child = spawnSync(
        'sh',
        ['-c', `wine "$0" "$1" "$2" > "$3/stdout.txt" 2> "$3/stderr.txt"`, setup.nodeExe, join(repoRoot, 'dist', 'test', 'tracking', 'wine-rct.js'), result, out.path],
        { env: { ...process.env, WINEPREFIX: setup.prefix, WINEDEBUG: '-all', HVR_ADDON_PATH: `Z:${addon.replace(/\//g, '\\')}` }, timeout: 180_000 },
      );
      const log = (): string => `${readFileSync(join(out.path, 'stdout.txt'), 'utf8')}${readFileSync(join(out.path, 'stderr.txt'), 'utf8')}`;
      assert.equal(child.status, 0, `wine node.exe exited with ${child.status}: ${log()}`);
      assert.ok(existsSync(result), `no result from node.exe: ${log()}`);
      outcome = JSON.parse(readFileSync(result, 'utf8')) as Outcome;
    } finally {
      out.cleanup();
    }
    assert.equal(outcome.failure, undefined, String(outcome.failure));
    assert.equal(outcome.platform, 'win32');
  });

  it('resolves virtdisk at run time and reports RCT as not supported where QueryChangesVirtualDisk is missing', () => {
    assert.equal((outcome.features as { resilientChangeTracking: boolean }).resilientChangeTracking, false);
    const error = (outcome.system as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'ERR_NOT_SUPPORTED');
    assert.match(error.message, /QueryChangesVirtualDisk/);
  });

  it('loops over partial results in the win32 build exactly as on Linux', () => {
    const expected = Array.from({ length: 10 }, (_, i) => [i * 50 * 1024 * 1024, 128 * 1024]);
    assert.deepEqual((outcome.changes as { ok: unknown }).ok, expected);
    assert.ok((outcome.queryCalls as number) >= 10);
  });

  it('maps an invalid id to "resync required" with the virtdisk status', () => {
    const error = (outcome.invalid as { error: { code: string; reason: string; errno: number } }).error;
    assert.deepEqual([error.code, error.reason, error.errno >>> 0], ['ERR_RESYNC_REQUIRED', 'invalid-id', 0xc03a0029]);
  });
});
