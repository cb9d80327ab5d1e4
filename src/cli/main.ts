/**
 * The hvreplica command line: what the PowerShell module, scheduled tasks and scripts call.
 * Exit codes: src/cli/exit-codes.ts (documented in README.md).
 */
import { flushLogs } from '../logging/logger.js';
import { workAfterResultSettled } from '../util/work-after-result.js';
import { ExitCode } from './exit-codes.js';
import { printError, printResult } from './output.js';
import { repeatedOptionsMiddleware } from './repeated-options.js';
import { packageVersion } from './version.js';

// process.argv past node and the script (yargs' hideBin differs only inside bundled Electron apps).
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const json = argv.includes('--json');
  if (argv.includes('--version')) {
    printResult('version', json, { data: { version: packageVersion(), node: process.version }, human: packageVersion() });
    return ExitCode.Ok;
  }
  // Loaded only past --version: yargs and the command registry are most of the CLI's start-up.
  const [{ default: yargs }, { withGlobalOptions }, { commands }] = await Promise.all([import('yargs'), import('./command-kit.js'), import('./commands/index.js')]);
  const parser = withGlobalOptions(yargs(argv))
    .scriptName('hvreplica')
    .usage('$0 <command> [options]\n\nReplicates Hyper-V virtual machines to a replica host and fails them over.')
    .command(commands)
    .demandCommand(1, 'Name a command; "hvreplica --help" lists them.')
    .strict()
    .middleware(repeatedOptionsMiddleware, true)
    .version(false)
    .help()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail(false);
  try {
    await parser.parseAsync();
  } catch (error) {
    // Only yargs' own validation errors arrive here: command handlers report through action().
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${await parser.getHelp()}\n\n`);
    printError(argv.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ') || 'hvreplica', json, {
      code: 'ERR_USAGE',
      message,
      exitCode: ExitCode.Usage,
    });
    process.exitCode = ExitCode.Usage;
  }
  // A cycle's commit may run on after the command printed its result: its lines belong in the log file too.
  await workAfterResultSettled();
  await flushLogs();
  return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Ok;
}
