#!/usr/bin/env node
// Builds the addon: `linux` (cmake-js, the primary build), `gyp` (binding.gyp through node-gyp, the
// from-source fallback, built into build-gyp/ so it never shadows the primary build) and `win`
// (cross-compiled with mingw-w64 into prebuilds/win32-x64/). Works offline: cmake-js takes the N-API
// headers from node-api-headers (package.json "binary.napi_versions"); node-gyp is pointed at /usr.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, renameSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (cmd, args, env = {}) =>
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });

function place(from, platformArch) {
  const dir = join(root, 'prebuilds', platformArch);
  mkdirSync(dir, { recursive: true });
  copyFileSync(from, join(dir, 'hvreplica.node'));
}

const targets = {
  linux() {
    run(bin('cmake-js'), ['rebuild', '--out', 'build']);
    place(join(root, 'build', 'Release', 'hvreplica.node'), `${process.platform}-${process.arch}`);
  },
  gyp() {
    // node-gyp always writes build/; build the fallback there, then move it aside.
    const primary = join(root, 'build');
    const parked = join(root, '.build-primary');
    rmSync(parked, { recursive: true, force: true });
    if (existsSync(primary)) renameSync(primary, parked);
    try {
      run(bin('node-gyp'), ['rebuild', '--nodedir', process.env.npm_config_nodedir || '/usr']);
      rmSync(join(root, 'build-gyp'), { recursive: true, force: true });
      renameSync(primary, join(root, 'build-gyp'));
    } finally {
      if (existsSync(parked)) renameSync(parked, primary);
    }
  },
  win() {
    run(bin('cmake-js'), [
      'rebuild', '--out', 'build-win',
      `--CDCMAKE_TOOLCHAIN_FILE=${join(root, 'cmake', 'mingw-w64-x86_64.cmake')}`,
    ]);
    place(join(root, 'build-win', 'Release', 'hvreplica.node'), 'win32-x64');
  },
};

const wanted = process.argv.slice(2);
if (wanted.length === 0 || wanted.some((t) => !(t in targets))) {
  console.error(`usage: build-native.mjs ${Object.keys(targets).join('|')} [...]`);
  process.exit(2);
}
for (const target of wanted) targets[target]();
