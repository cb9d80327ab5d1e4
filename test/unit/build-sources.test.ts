// CMakeLists.txt (cmake-js) and binding.gyp (node-gyp) must compile the same sources, or the from-source
// fallback rots unnoticed. Both take their list from native/list-sources.cjs; this checks what each build
// really compiled and that the two addons expose the same functions. Needs `npm run build:native`,
// `npm run build:gyp` and `npm run build:win` first (.ci/run does all three).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/paths.js';

const require = createRequire(import.meta.url);
const { listSources } = require(join(repoRoot, 'native', 'list-sources.cjs')) as { listSources(platform: string): string[] };

function requireBuild(path: string, how: string): string {
  assert.ok(existsSync(path), `${relative(repoRoot, path)} is missing: run "${how}" first`);
  return path;
}

function compiledByCmake(buildDir: string, how: string): string[] {
  const commands = JSON.parse(readFileSync(requireBuild(join(repoRoot, buildDir, 'compile_commands.json'), how), 'utf8')) as { file: string }[];
  return commands
    .map((entry) => relative(repoRoot, entry.file).split('\\').join('/'))
    .filter((file) => file.startsWith('native/'))
    .sort();
}

function compiledByGyp(): string[] {
  const makefile = readFileSync(requireBuild(join(repoRoot, 'build-gyp', 'hvreplica.target.mk'), 'npm run build:gyp'), 'utf8');
  return [...makefile.matchAll(/\$\(obj\)\.target\/\$\(TARGET\)\/(native\/\S+)\.o/g)].map((m) => `${m[1]}.cc`).sort();
}

function exportedFunctions(addonPath: string): string[] {
  const script = `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(addonPath)})).sort()))`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as string[];
}

describe('native build definitions', () => {
  it('take their sources from native/list-sources.cjs, not from inline lists', () => {
    assert.match(readFileSync(join(repoRoot, 'CMakeLists.txt'), 'utf8'), /node native\/list-sources\.cjs \$\{HVR_PLATFORM\}/);
    const gyp = readFileSync(join(repoRoot, 'binding.gyp'), 'utf8');
    assert.match(gyp, /list-sources\.cjs win/);
    assert.match(gyp, /list-sources\.cjs posix/);
    assert.doesNotMatch(gyp, /"[^"]+\.cc"/, 'binding.gyp names no source file itself');
  });

  it('cmake-js and node-gyp compiled exactly the same Linux sources', () => {
    const expected = listSources('posix');
    assert.ok(expected.includes('native/src/addon.cc'));
    assert.deepEqual(compiledByCmake('build', 'npm run build:native'), expected);
    assert.deepEqual(compiledByGyp(), expected);
  });

  it('the mingw cross-build compiled the Windows sources and the delay-load hook', () => {
    const compiled = compiledByCmake('build-win', 'npm run build:win');
    assert.deepEqual(compiled, listSources('mingw'));
    assert.ok(compiled.includes('native/src/platform/mingw/delay_load_hook.cc'));
    assert.ok(!compiled.some((file) => file.includes('/platform/posix/')));
  });

  it('both Linux addons expose the same functions', () => {
    const cmake = exportedFunctions(requireBuild(join(repoRoot, 'build', 'Release', 'hvreplica.node'), 'npm run build:native'));
    const gyp = exportedFunctions(requireBuild(join(repoRoot, 'build-gyp', 'Release', 'hvreplica.node'), 'npm run build:gyp'));
    assert.ok(cmake.includes('version') && cmake.includes('setErrorClass'));
    assert.deepEqual(gyp, cmake);
  });
});
