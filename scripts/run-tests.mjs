#!/usr/bin/env node
// Runs every suite: node:test over the compiled tests in dist/test, then the Pester suites of the
// PowerShell module. Prints one closing line "total: N passed, N failed" and exits non-zero on any failure.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function findTests(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) return findTests(full);
    return entry.name.endsWith('.test.js') ? [full] : [];
  });
}

/** Runs a command, echoing its output, and returns [exit code, everything it printed]. */
function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (chunk) => { text += chunk; process.stdout.write(chunk); });
    child.stderr.on('data', (chunk) => { text += chunk; process.stderr.write(chunk); });
    child.on('close', (code) => resolve([code ?? 1, text]));
  });
}

const only = process.argv.slice(2);
const files = findTests(join(root, 'dist', 'test'))
  .filter((file) => only.length === 0 || only.some((part) => file.includes(part)))
  .sort();
if (files.length === 0) {
  console.error('no compiled tests found in dist/test: run "npm run build:ts" first');
  process.exit(1);
}

let passed = 0;
let failed = 0;
let exitCode = 0;

const [nodeCode, nodeOut] = await run(process.execPath, ['--test', '--test-reporter=spec', ...files]);
const count = (label) => Number(nodeOut.match(new RegExp(`ℹ ${label} (\\d+)`))?.[1] ?? 0);
passed += count('pass');
failed += count('fail') + count('cancelled');
if (nodeCode !== 0) {
  exitCode = 1;
  // A failing before/after hook fails its file without counting as a failed test: say so in the total.
  if (count('fail') + count('cancelled') === 0) {
    console.error(`node:test exited ${nodeCode} although no test counted as failed (a hook failed?): see "failing tests" above`);
    failed += 1;
  }
}

if (only.length === 0 || only.includes('pester')) {
  const pwsh = process.env.HVR_PWSH || join(homedir(), '.dotnet', 'tools', 'pwsh');
  const pesterScript = join(root, 'scripts', 'run-pester.ps1');
  if (!existsSync(pesterScript)) {
    console.error('scripts/run-pester.ps1 is missing: the PowerShell module suites cannot run');
    failed += 1;
    exitCode = 1;
  } else if (!existsSync(pwsh)) {
    console.error(`PowerShell 7 not found at ${pwsh}: install it with "dotnet tool install --global PowerShell --version 7.6.9" (or set HVR_PWSH)`);
    failed += 1;
    exitCode = 1;
  } else {
    const [pesterCode, pesterOut] = await run(pwsh, ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', pesterScript]);
    const summary = pesterOut.match(/Pester: (\d+) passed, (\d+) failed/);
    if (summary) {
      passed += Number(summary[1]);
      failed += Number(summary[2]);
    } else {
      failed += 1;
    }
    if (pesterCode !== 0) exitCode = 1;
  }
}

if (failed > 0) exitCode = 1;
console.log(`total: ${passed} passed, ${failed} failed`);
process.exit(exitCode);
