/** Running the real CLI against a site's state directory and checking results against the contract. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { replicateOnce } from '../../src/failover/replication.js';
import type { FailoverSite } from '../../src/failover/site.js';
import { guestWrites, seal, vmContent, type FileSite } from '../failover/helpers.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';

/** `hvreplica <args> --json --state-dir=<site>`; every option written as --name=value, as the module does. */
export function cli(site: FailoverSite, ...args: string[]): CliRun {
  return runCli([...args, '--json', `--state-dir=${site.options.stateDir}`]);
}

/** Runs a command that must succeed and returns its result array. */
export function ok(site: FailoverSite, ...args: string[]): Record<string, unknown>[] {
  const run = cli(site, ...args);
  assert.equal(run.status, 0, `${args.join(' ')} failed: ${run.stdout}${run.stderr}`);
  assert.equal(run.json?.ok, true);
  assert.equal(run.json?.schemaVersion, 1);
  assert.equal(run.json?.command, `${args[0]} ${args[1]}`);
  assert.ok(Array.isArray(run.json?.result), 'VM commands return an array');
  return run.json!.result as Record<string, unknown>[];
}

/** Runs a command that must be refused with `exitCode` and `code`, and returns the message. */
export function refused(site: FailoverSite, exitCode: number, code: string, ...args: string[]): string {
  const run = cli(site, ...args);
  assert.equal(run.status, exitCode, `${args.join(' ')}: expected exit ${exitCode}, got ${run.status}: ${run.stdout}${run.stderr}`);
  assert.equal(run.json?.ok, false);
  assert.equal(run.json?.exitCode, exitCode);
  assert.equal(run.json?.error?.code, code);
  assert.ok((run.json?.error?.message ?? '').length > 0);
  return run.json!.error!.message;
}

/** The contract's example object (test/ps-module/Fixtures): every property present with the same JSON type. */
export function assertShape(value: Record<string, unknown>, fixture: string): void {
  const example = JSON.parse(readFileSync(join(repoRoot, 'test', 'ps-module', 'Fixtures', fixture), 'utf8')) as Record<string, unknown>;
  for (const [key, sample] of Object.entries(example)) {
    assert.ok(key in value, `${fixture}: property ${key} missing in ${JSON.stringify(value)}`);
    assert.equal(typeof value[key], typeof sample, `${fixture}: property ${key} has type ${typeof value[key]}`);
  }
}

/** Guest writes on the primary, one replication cycle, and a recovery point sealed on the replica. */
export async function replicatedPoint(primary: FileSite, replica: FailoverSite, vm: string, seed: number): Promise<{ content: string[]; point: string }> {
  await guestWrites(primary, vm, seed);
  await replicateOnce(primary, replica, vm);
  const content = await vmContent(primary, vm);
  return { content, point: await seal(replica, vm) };
}
