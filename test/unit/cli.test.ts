import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { repoRoot, tempDir } from '../helpers/paths.js';

const packageVersion = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('hvreplica CLI', () => {
  it('prints its version as a versioned JSON object', () => {
    const run = runCli(['--version', '--json']);
    assert.equal(run.status, 0);
    assert.deepEqual(run.json, { schemaVersion: 1, command: 'version', ok: true, result: { version: packageVersion, node: process.version } });
  });

  it('prints a plain version without --json', () => {
    const run = runCli(['--version']);
    assert.equal(run.status, 0);
    assert.equal(run.stdout.trim(), packageVersion);
  });

  it('answers host info with --json on stdout only', () => {
    const state = tempDir('cli');
    try {
      const run = runCli(['host', 'info', '--json', '--state-dir', state.path]);
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.json?.ok, true);
      const result = run.json?.result as Record<string, unknown>;
      assert.equal(result.version, packageVersion);
      assert.equal(result.stateDir, state.path);
      assert.equal(typeof result.resilientChangeTracking, 'boolean');
    } finally {
      state.cleanup();
    }
  });

  it('refuses an unknown command with usage and exit code 2', () => {
    const run = runCli(['frobnicate']);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /Commands:/);
    assert.match(run.stderr, /Unknown argument: frobnicate/);
    assert.equal(run.stdout, '');
  });

  it('refuses an unknown option with a JSON error object and exit code 2', () => {
    const run = runCli(['host', 'info', '--bogus', '--json']);
    assert.equal(run.status, 2);
    assert.equal(run.json?.ok, false);
    assert.equal(run.json?.exitCode, 2);
    assert.equal(run.json?.error?.code, 'ERR_USAGE');
    assert.match(run.json?.error?.message ?? '', /bogus/);
  });

  it('refuses a bad --log-level choice', () => {
    const run = runCli(['host', 'info', '--log-level', 'loud']);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /Invalid values/);
  });

  it('defaults the state directory from HVR_STATE_DIR', () => {
    const state = tempDir('cli');
    try {
      const run = runCli(['host', 'info', '--json'], { HVR_STATE_DIR: state.path });
      assert.equal((run.json?.result as { stateDir: string }).stateDir, state.path);
      assert.equal(existsSync(join(state.path, 'logs')), false, 'a read-only command leaves no log file');
    } finally {
      state.cleanup();
    }
  });

  // main.ts loads yargs and the command registry only past --version, and winston only when needed.
  it('prints a command\'s help with its options and the global ones', () => {
    const run = runCli(['replicate', '--help']);
    assert.equal(run.status, 0, run.stderr);
    for (const option of ['--vm', '--progress', '--extended', '--json', '--log-level', '--state-dir']) assert.ok(run.stdout.includes(option), `${option} in:\n${run.stdout}`);
  });

  it('writes the steps of a command that changes host state to its log file at the default level, and none when quiet', () => {
    const state = tempDir('cli');
    try {
      const loud = runCli(['vm', 'new', '--name', 'logged', '--disk', '8MiB', '--json', '--state-dir', state.path], { HVR_LOG_LEVEL: '' });
      assert.equal(loud.status, 0, loud.stderr);
      const lines = readFileSync(join(state.path, 'logs', 'hvreplica.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { message: string; vm?: string });
      assert.ok(lines.some((l) => l.message === 'created VM' && l.vm === 'logged'), JSON.stringify(lines));
      assert.match(loud.stderr, /created VM/, 'info goes to the console too');
      const quiet = runCli(['vm', 'new', '--name', 'quiet', '--disk', '8MiB', '--json', '--state-dir', state.path, '--log-level', 'warn']);
      assert.equal(quiet.status, 0, quiet.stderr);
      assert.equal(quiet.stderr, '', 'nothing at warn or above happened');
      assert.ok(!readFileSync(join(state.path, 'logs', 'hvreplica.log'), 'utf8').includes('quiet'), 'the quiet run wrote no line');
    } finally {
      state.cleanup();
    }
  });
});
