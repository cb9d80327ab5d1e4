// Runs a compiled test script in Windows node.exe under Wine and returns the JSON it wrote. Shared by every
// test of the cross-built addon (prebuilds/win32-x64, or HVR_WIN_ADDON). Wine's node.exe cannot write to
// pipes (EBADF), so its output goes to files; the script's first argument is the result file, the second a
// scratch folder as a Windows path.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from './paths.js';

export const windowsAddon = process.env.HVR_WIN_ADDON ?? join(repoRoot, 'prebuilds', 'win32-x64', 'hvreplica.node');

/** The Windows spelling of a Linux path through Wine's Z: drive. */
export const winPath = (path: string): string => `Z:${path.replace(/\//g, '\\')}`;

export interface WineRun {
  /** The script under dist/test, e.g. 'vhdx/wine-vhdx.js'. */
  script: string;
  /** Run node.exe under another file name (the delay-load hook must cope). */
  exeName?: string;
  /** Load the addon as the product does (node-gyp-build, prebuilds only) instead of by explicit path. */
  throughPrebuilds?: boolean;
  timeoutMs?: number;
}

export interface WineResult {
  outcome: Record<string, unknown>;
  /** The path of the node.exe that ran. */
  exe: string;
  /** The scratch folder the script was given (removed when the run returns). */
  scratch: string;
}

export function runUnderWine(run: WineRun): WineResult {
  assert.ok(existsSync(windowsAddon), `${windowsAddon} is missing: build it with "npm run build:win" (needs mingw-w64)`);
  const setup = JSON.parse(execFileSync(process.execPath, [join(repoRoot, 'scripts', 'setup-wine.mjs')], { encoding: 'utf8' })) as {
    prefix: string;
    nodeExe: string;
  };
  let exe = setup.nodeExe;
  if (run.exeName && run.exeName !== 'node.exe') {
    exe = join(setup.nodeExe, '..', run.exeName);
    copyFileSync(setup.nodeExe, exe);
  }
  const out = tempDir('wine');
  try {
    const result = join(out.path, 'result.json');
    const addonEnv = run.throughPrebuilds ? { PREBUILDS_ONLY: '1', HVR_ADDON_PATH: '' } : { HVR_ADDON_PATH: winPath(windowsAddon) };
    const child = spawnSync(
      'sh',
      ['-c', 'wine "$0" "$1" "$2" "$3" > "$4/stdout.txt" 2> "$4/stderr.txt"', exe, join(repoRoot, 'dist', 'test', run.script), result, winPath(out.path), out.path],
      { env: { ...process.env, WINEPREFIX: setup.prefix, WINEDEBUG: '-all', ...addonEnv }, timeout: run.timeoutMs ?? 240_000 },
    );
    const log = (): string => `${readFileSync(join(out.path, 'stdout.txt'), 'utf8')}${readFileSync(join(out.path, 'stderr.txt'), 'utf8')}`;
    assert.equal(child.status, 0, `wine ${run.exeName ?? 'node.exe'} exited with ${child.status}: ${log()}`);
    assert.ok(existsSync(result), `no result from node.exe: ${log()}`);
    return { outcome: JSON.parse(readFileSync(result, 'utf8')) as Record<string, unknown>, exe, scratch: winPath(out.path) };
  } finally {
    out.cleanup();
  }
}
