import { spawnSync } from 'node:child_process';
import { cliPath } from './paths.js';

export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
  /** The parsed --json object, when stdout held one. */
  json?: { schemaVersion: number; command: string; ok: boolean; result?: unknown; exitCode?: number; error?: { code: string; message: string; errno?: number } };
}

/** Runs the real CLI in a child process, as the PowerShell module and scheduled tasks do. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const child = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  const run: CliRun = { status: child.status ?? -1, stdout: child.stdout, stderr: child.stderr };
  if (args.includes('--json') && child.stdout.trim().length > 0) run.json = JSON.parse(child.stdout) as CliRun['json'];
  return run;
}
