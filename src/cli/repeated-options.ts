/**
 * A single-valued option given twice keeps its last value (as PowerShell does with a repeated parameter)
 * instead of reaching the command as an array; options declared as arrays (`vm new --disk … --disk …`)
 * still collect every value. Runs as yargs middleware before validation.
 */
import type { MiddlewareFunction } from 'yargs';

/** The part of the running yargs instance this needs; @types/yargs does not declare getOptions(). */
interface ParserWithOptions {
  getOptions(): { array: string[] };
}

function keepLastOfRepeatedOptions(args: Record<string, unknown>, parser: ParserWithOptions): void {
  const arrays = new Set(parser.getOptions().array);
  for (const [key, value] of Object.entries(args)) {
    if (key !== '_' && Array.isArray(value) && !arrays.has(key)) args[key] = value[value.length - 1];
  }
}

// yargs passes the instance as the second argument at run time; its typings only declare the first.
export const repeatedOptionsMiddleware = keepLastOfRepeatedOptions as unknown as MiddlewareFunction;
