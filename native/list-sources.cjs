#!/usr/bin/env node
// The one definition of what the addon compiles, used by CMakeLists.txt and binding.gyp alike:
// every .cc under native/src except the platform folders, plus the folders of the target platform.
// Usage: node native/list-sources.cjs posix|win|mingw   (prints paths relative to the package root)
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const PLATFORM_FOLDERS = {
  posix: ['posix'],
  win: ['win'],
  mingw: ['win', 'mingw'],
};

function listSources(platform) {
  const folders = PLATFORM_FOLDERS[platform];
  if (!folders) throw new Error(`unknown platform '${platform}': expected one of ${Object.keys(PLATFORM_FOLDERS).join(', ')}`);
  const root = path.join(__dirname, '..');
  const srcRoot = path.join(__dirname, 'src');
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const rel = path.relative(srcRoot, full).split(path.sep);
      if (entry.isDirectory()) {
        if (rel[0] === 'platform' && rel.length === 2 && !folders.includes(rel[1])) continue;
        walk(full);
      } else if (entry.name.endsWith('.cc')) {
        found.push(path.relative(root, full).split(path.sep).join('/'));
      }
    }
  };
  walk(srcRoot);
  return found.sort();
}

module.exports = { listSources, PLATFORMS: Object.keys(PLATFORM_FOLDERS) };

if (require.main === module) {
  process.stdout.write(listSources(process.argv[2] || 'posix').join('\n') + '\n');
}
