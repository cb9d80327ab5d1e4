import { CliError } from '../../cli-error.js';
import { ExitCode } from '../../exit-codes.js';

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Parses "4096", "64M", "1.5G" (binary units, like qemu-img) into a whole number of bytes. */
export function parseSize(option: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  const value = match ? Math.round(Number(match[1]) * UNITS[match[2]!.toUpperCase()]!) : NaN;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new CliError('ERR_USAGE', `--${option}: '${text}' is not a size (bytes, or a number with K, M, G or T)`, ExitCode.Usage);
  }
  return value;
}
