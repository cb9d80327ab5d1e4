/**
 * Glue between yargs and command implementations: global options every command has, and `action()`,
 * which runs an implementation (imported lazily by the noun module), prints its result and maps errors
 * to exit codes.
 */
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { configureLogging, LOG_LEVELS, type LogLevel } from '../logging/logger.js';
import { defaultStateDir } from '../util/state-dir.js';
import { describeError } from './cli-error.js';
import { printError, printResult, type CommandResult } from './output.js';
import { join } from 'node:path';

export interface GlobalOptions {
  json: boolean;
  'log-level'?: LogLevel;
  'state-dir': string;
}

export function withGlobalOptions<T>(yargs: Argv<T>): Argv<T & GlobalOptions> {
  return yargs
    .option('json', { type: 'boolean', default: false, describe: 'Print one versioned JSON object on stdout; logs go to stderr' })
    .option('log-level', { choices: LOG_LEVELS, describe: 'Log level (or HVR_LOG_LEVEL)' })
    .option('state-dir', {
      type: 'string',
      default: defaultStateDir(),
      defaultDescription: 'HVR_STATE_DIR, else %ProgramData%\\hvreplica or /var/lib/hvreplica',
      describe: 'State directory of this host',
    }) as unknown as Argv<T & GlobalOptions>;
}

/**
 * Configures logging for one command run: the console, the rotating file in the state directory for
 * commands that change host state, and the Application event log when the Windows service started us
 * (it passes the registered event source in HVR_EVENT_LOG_SOURCE).
 */
export async function setupLogging(args: GlobalOptions, withFile: boolean): Promise<void> {
  const eventSource = process.platform === 'win32' ? process.env.HVR_EVENT_LOG_SOURCE : undefined;
  const extraTransports = eventSource
    ? [new (await import('../host/hyperv/event-log-transport.js')).EventLogTransport({ source: eventSource })]
    : [];
  configureLogging({
    ...(args['log-level'] ? { level: args['log-level'] } : {}),
    jsonConsole: args.json,
    ...(withFile ? { logDir: join(args['state-dir'], 'logs') } : {}),
    extraTransports,
  });
}

export interface ActionOptions {
  /** Write the rotating log file in the state directory (commands that act on host state). */
  logToFile?: boolean;
}

export function action<A extends GlobalOptions>(
  command: string,
  run: (args: A) => Promise<CommandResult>,
  options: ActionOptions = {},
): (args: ArgumentsCamelCase<A>) => Promise<void> {
  return async (parsed: ArgumentsCamelCase<A>) => {
    const args = parsed as unknown as A;
    await setupLogging(args, options.logToFile ?? false);
    try {
      printResult(command, args.json, await run(args));
    } catch (error) {
      const report = describeError(error);
      printError(command, args.json, report);
      process.exitCode = report.exitCode;
    }
  };
}
