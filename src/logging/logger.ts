/**
 * One winston root logger per process; every component logs through `logger(component)`, a child that
 * carries its name. stdout is reserved for command output, so the console transport writes every level
 * to stderr. A size-rotated file in the state directory keeps the history an administrator reads later.
 *
 * winston is loaded on the first message that some destination would keep, not at start-up: loading it
 * costs ~100 ms of every CLI process, and most commands (and every quiet cycle) never log a line. Until
 * then only the levels are known here, which is all it takes to drop what no destination wants.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type winston from 'winston';

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

/** What components log through: winston's level methods, with a message and optional metadata. */
export type Logger = Record<LogLevel, (message: string, meta?: object) => void>;

const MAX_LOG_BYTES = 10 * 1024 * 1024;
const MAX_LOG_FILES = 5;

function levelFromEnv(): LogLevel | undefined {
  const value = process.env.HVR_LOG_LEVEL;
  return value && (LOG_LEVELS as readonly string[]).includes(value) ? (value as LogLevel) : undefined;
}

const rank = (level: string): number => {
  const index = (LOG_LEVELS as readonly string[]).indexOf(level);
  return index < 0 ? LOG_LEVELS.length - 1 : index;
};

let settings: LoggingOptions = { level: levelFromEnv() ?? 'info' };
/** The most verbose level any destination keeps; messages above it are dropped before winston. */
let keptRank = rank(settings.level!);
let root: winston.Logger | undefined;

function fileLevel(level: LogLevel): LogLevel {
  return level === 'info' ? 'verbose' : level;
}

function loadWinston(): typeof winston {
  // winston is CommonJS: a synchronous require lets the first log call load it where it stands.
  return createRequire(import.meta.url)('winston') as typeof winston;
}

function consoleTransport(w: typeof winston, json: boolean, silent: boolean): winston.transport {
  const human = w.format.printf(({ level, message, component, timestamp: _t, service: _s, ...rest }) => {
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
    return `${level}${component ? ` [${String(component)}]` : ''}: ${String(message)}${extra}`;
  });
  return new w.transports.Console({
    stderrLevels: [...LOG_LEVELS],
    silent,
    format: json ? w.format.json() : w.format.combine(w.format.colorize({ all: false }), human),
  });
}

function transportsOf(w: typeof winston, options: LoggingOptions): winston.transport[] {
  const level = options.level ?? 'info';
  const transports = [consoleTransport(w, options.jsonConsole ?? false, options.quietConsole ?? false)];
  if (options.logDir) {
    transports.push(
      new w.transports.File({
        filename: join(options.logDir, 'hvreplica.log'),
        level: fileLevel(level),
        maxsize: MAX_LOG_BYTES,
        maxFiles: MAX_LOG_FILES,
        tailable: true,
      }),
    );
  }
  return [...transports, ...(options.extraTransports ?? [])];
}

function rootLogger(): winston.Logger {
  if (root) return root;
  const w = loadWinston();
  root = w.createLogger({
    level: settings.level ?? 'info',
    defaultMeta: { service: 'hvreplica' },
    format: w.format.combine(w.format.errors({ stack: true }), w.format.timestamp(), w.format.json()),
    transports: transportsOf(w, settings),
  });
  return root;
}

/** Applies the process-wide logging settings; called once by the CLI after parsing options. */
export function configureLogging(options: LoggingOptions): void {
  const level = options.level ?? levelFromEnv() ?? 'info';
  settings = { ...options, level };
  // The log folder exists from here on, as before, whether or not a line is ever written.
  if (options.logDir) mkdirSync(options.logDir, { recursive: true });
  const ranks = [rank(level), ...(options.logDir ? [rank(fileLevel(level))] : []), ...(options.extraTransports ?? []).map((t) => rank(t.level ?? level))];
  keptRank = Math.max(...ranks);
  if (root) {
    root.level = level;
    root.clear();
    for (const transport of transportsOf(loadWinston(), settings)) root.add(transport);
  } else if (options.logDir && rank(fileLevel(level)) >= rank('verbose')) {
    // A command that logs its steps to a file will need winston: load it now rather than at its first
    // step, which may be inside a replication cycle (and its VM lock). Quiet runs (warn, error) skip it.
    rootLogger();
  }
}

export function logger(component: string): Logger {
  // A winston child writes through the root, whose transports configureLogging replaces in place.
  let child: winston.Logger | undefined;
  const write = (level: LogLevel) => (message: string, meta?: object) => {
    if (rank(level) > keptRank) return;
    child ??= rootLogger().child({ component });
    if (meta === undefined) child[level](message);
    else child[level](message, meta);
  };
  return { error: write('error'), warn: write('warn'), info: write('info'), verbose: write('verbose'), debug: write('debug'), silly: write('silly') };
}

/** Resolves once every transport has written what it was given (before a CLI process exits). */
export async function flushLogs(): Promise<void> {
  if (!root) return;
  const w = loadWinston();
  const transports = [...root.transports];
  await Promise.all(
    transports.map(
      (transport) =>
        new Promise<void>((resolve) => {
          if (!(transport instanceof w.transports.File)) return resolve();
          transport.once('finish', () => resolve());
          transport.once('error', () => resolve());
          transport.end();
        }),
    ),
  );
}
