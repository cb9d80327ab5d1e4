/**
 * Every noun the CLI knows, as data: main.ts registers them, and the docs and PowerShell parameter tests
 * introspect them. Each noun module is small; its implementation is imported only when it runs.
 */
import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../command-kit.js';
import { hostCommand } from './host/command.js';

export const commands: CommandModule<GlobalOptions, GlobalOptions>[] = [hostCommand];
