import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../bin/hvreplica.js', import.meta.url));

export interface CliRun {
  exitCode: number;
  json: { schemaVersion: number; command: string; ok: boolean; result?: unknown; exitCode?: number; error?: { code: string; message: string } };
  stderr: string;
}

/** Runs the real CLI with --json and parses the one object it must print on stdout. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args, '--json'], { env: { ...process.env, HVR_LOG_LEVEL: 'warn', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const lines = stdout.trim().split('\n');
      if (lines.length !== 1) return reject(new Error(`expected one JSON line on stdout, got: ${stdout}\n${stderr}`));
      try {
        resolve({ exitCode: error ? Number((error as { code?: number }).code ?? 1) : 0, json: JSON.parse(lines[0]!), stderr });
      } catch (parseError) {
        reject(parseError);
      }
    });
  });
}
