/**
 * Every noun the CLI knows, as data: main.ts registers them, and the docs and PowerShell parameter tests
 * introspect them. Each noun module is small; its implementation is imported only when it runs.
 */
import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../command-kit.js';
import { hostCommand } from './host/command.js';
import { diskCommand } from './disk/command.js';
import { authCommand } from './auth/command.js';
import { certCommand } from './cert/command.js';
import { connectionCommand } from './connection/command.js';
import { serverCommand } from './server/command.js';
import { replicationCommand } from './replication/command.js';
import { serviceCommand } from './service/command.js';
import { taskCommand } from './task/command.js';
import { vmCommand } from './vm/command.js';
import { workloadCommand } from './workload/command.js';
import { replicateCommand } from './replicate/command.js';
import { demoCommand } from './demo/command.js';
import { agentCommand } from './agent/command.js';
import { initialCommand } from './initial/command.js';
import { failoverCommand } from './failover/command.js';
import { recoveryPointCommand } from './recovery-point/command.js';

export const commands: CommandModule<GlobalOptions, GlobalOptions>[] = [hostCommand, diskCommand, serverCommand, authCommand, certCommand, connectionCommand, replicationCommand, serviceCommand, taskCommand, vmCommand, workloadCommand, replicateCommand, demoCommand, agentCommand, initialCommand, failoverCommand, recoveryPointCommand];
