/**
 * What a command prints. With --json, stdout carries exactly one versioned object per run (the contract
 * with the PowerShell module); otherwise a human rendering. Logs never go to stdout.
 */
import type { ErrorReport } from './cli-error.js';

export const JSON_SCHEMA_VERSION = 1;

export interface CommandResult<T = unknown> {
  /** The machine-readable result (the `result` member of the --json object). */
  data: T;
  /** The text a person sees without --json; defaults to an indented rendering of `data`. */
  human?: string;
}

export function printResult(command: string, json: boolean, result: CommandResult): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, command, ok: true, result: result.data })}\n`);
    return;
  }
  const text = result.human ?? renderHuman(result.data);
  if (text.length > 0) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function printError(command: string, json: boolean, report: ErrorReport): void {
  if (json) {
    const { exitCode, ...error } = report;
    process.stdout.write(`${JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, command, ok: false, exitCode, error })}\n`);
  }
  process.stderr.write(`hvreplica: ${report.message} (${report.code})\n`);
}

function renderHuman(data: unknown, indent = ''): string {
  if (data === null || data === undefined) return '';
  if (typeof data !== 'object') return String(data);
  if (Array.isArray(data)) return data.map((item) => renderHuman(item, indent)).join(`\n${indent}---\n`);
  const entries = Object.entries(data as Record<string, unknown>);
  const width = Math.max(0, ...entries.map(([key]) => key.length));
  return entries
    .map(([key, value]) =>
      value !== null && typeof value === 'object' && !Array.isArray(value)
        ? `${indent}${key}:\n${renderHuman(value, `${indent}  `)}`
        : `${indent}${key.padEnd(width)} : ${Array.isArray(value) ? value.map(String).join(', ') : String(value)}`,
    )
    .join('\n');
}
