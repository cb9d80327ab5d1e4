/** Runs a compiled benchmark of bench/replication as a user would, and reads the JSON line it ends with. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';

export function benchPath(name: string): string {
  return join(repoRoot, 'dist', 'bench', 'replication', `${name}.js`);
}

export function runBench(name: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [benchPath(name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The last line of stdout: every benchmark's figures as one JSON object. */
export function lastJson<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}

/** A figure that was measured: a finite number ≥ 0 (> 0 when `positive`). */
export function isFigure(value: unknown, positive = false): boolean {
  return typeof value === 'number' && Number.isFinite(value) && (positive ? value > 0 : value >= 0);
}
