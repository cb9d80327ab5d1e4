/**
 * One winston root logger per process; every component logs through `logger(component)`, a child that
 * carries its name. stdout is reserved for command output, so the console transport writes every level
 * to stderr. A size-rotated file in the state directory keeps the history an administrator reads later.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';

export type LogLevel = 'error' | 'warn' | 'info' | 'verbose' | 'debug' | 'silly';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'verbose', 'debug', 'silly'];

export interface LoggingOptions {
  level?: LogLevel;
  /** Directory for hvreplica.log; no file logging when absent. */
  logDir?: string;
  /** Console lines as JSON (for --json runs) instead of human text. */
  jsonConsole?: boolean;
  /** Silence the console (tests); the file still receives everything. */
  quietConsole?: boolean;
  /** Further destinations, e.g. the Windows Application event log when running as a service. */
  extraTransports?: winston.transport[];
}

const MAX_LOG_BYTES = 10 * 1024 * 1024;
const MAX_LOG_FILES = 5;

const root = winston.createLogger({
  level: levelFromEnv() ?? 'info',
  defaultMeta: { service: 'hvreplica' },
  format: winston.format.combine(winston.format.errors({ stack: true }), winston.format.timestamp(), winston.format.json()),
  transports: [consoleTransport(false, false)],
});

function levelFromEnv(): LogLevel | undefined {
  const value = process.env.HVR_LOG_LEVEL;
  return value && (LOG_LEVELS as readonly string[]).includes(value) ? (value as LogLevel) : undefined;
}

function consoleTransport(json: boolean, silent: boolean): winston.transport {
  const human = winston.format.printf(({ level, message, component, timestamp: _t, service: _s, ...rest }) => {
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
    return `${level}${component ? ` [${String(component)}]` : ''}: ${String(message)}${extra}`;
  });
  return new winston.transports.Console({
    stderrLevels: [...LOG_LEVELS],
    silent,
    format: json ? winston.format.json() : winston.format.combine(winston.format.colorize({ all: false }), human),
  });
}

/** Applies the process-wide logging settings; called once by the CLI after parsing options. */
export function configureLogging(options: LoggingOptions): void {
  const level = options.level ?? levelFromEnv() ?? 'info';
  root.level = level;
  root.clear();
  root.add(consoleTransport(options.jsonConsole ?? false, options.quietConsole ?? false));
  if (options.logDir) {
    mkdirSync(options.logDir, { recursive: true });
    root.add(
      new winston.transports.File({
        filename: join(options.logDir, 'hvreplica.log'),
        level: level === 'info' ? 'verbose' : level,
        maxsize: MAX_LOG_BYTES,
        maxFiles: MAX_LOG_FILES,
        tailable: true,
      }),
    );
  }
  for (const transport of options.extraTransports ?? []) root.add(transport);
}

export type Logger = winston.Logger;

export function logger(component: string): Logger {
  return root.child({ component });
}

/** Resolves once every transport has written what it was given (before a CLI process exits). */
export async function flushLogs(): Promise<void> {
  const transports = [...root.transports];
  await Promise.all(
    transports.map(
      (transport) =>
        new Promise<void>((resolve) => {
          if (!(transport instanceof winston.transports.File)) return resolve();
          transport.once('finish', () => resolve());
          transport.once('error', () => resolve());
          transport.end();
        }),
    ),
  );
}
