/** `task register|unregister`: scheduled replication cycles for hosts without the agent service. */
import { logger } from '../../../logging/logger.js';
import type { GlobalOptions } from '../../command-kit.js';
import { CliError } from '../../cli-error.js';
import { ExitCode } from '../../exit-codes.js';
import type { CommandResult } from '../../output.js';
import { serviceContext } from '../service/impl.js';
import { runPlan, type StepRunner } from '../service/runner.js';
import { defaultTaskName, registerPlan, unregisterPlan, type TaskInterval } from './plan.js';

export interface TaskArgs extends GlobalOptions {
  'vm-name'?: string;
  'interval-sec'?: TaskInterval;
  'task-name'?: string;
}

export interface TaskResult {
  TaskName: string;
  VMName: string | null;
  IntervalSec: number | null;
  Command: string | null;
  Scheduler: 'TaskScheduler' | 'SystemdTimer';
  Status: 'Registered' | 'Removed';
}

const log = logger('task');

/** Hyper-V Replica's default frequency; the CLI contract's relationship default once the engine stores it. */
const DEFAULT_INTERVAL: TaskInterval = 300;

function rethrowCoded(error: unknown): never {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && !(error instanceof CliError)) {
    throw new CliError(code, (error as Error).message, code === 'ERR_NOT_SUPPORTED' ? ExitCode.NotSupported : code === 'ERR_INVALID_ARGUMENT' ? ExitCode.Usage : ExitCode.Failure);
  }
  throw error;
}

export async function registerTask(args: TaskArgs, run?: StepRunner): Promise<CommandResult<TaskResult[]>> {
  const vmName = args['vm-name'];
  if (!vmName) throw new CliError('ERR_USAGE', '--vm-name is required', ExitCode.Usage);
  const interval = args['interval-sec'] ?? DEFAULT_INTERVAL;
  const taskName = args['task-name'] ?? defaultTaskName(vmName);
  try {
    const plan = registerPlan(vmName, interval, taskName, serviceContext(args));
    await runPlan(plan, run);
    if (plan.scheduler === 'TaskScheduler' && interval < 60) {
      log.info(
        `Task Scheduler repeats a trigger at most once a minute, so task ${taskName} has two triggers, at second 0 and 30 of every minute; a cycle still running when the next trigger fires is not started twice. For continuous replication install the agent service instead (hvreplica service install --role agent).`,
      );
    }
    return { data: [{ TaskName: taskName, VMName: vmName, IntervalSec: interval, Command: plan.command, Scheduler: plan.scheduler, Status: 'Registered' }] };
  } catch (error) {
    rethrowCoded(error);
  }
}

export async function unregisterTask(args: TaskArgs, run?: StepRunner): Promise<CommandResult<TaskResult[]>> {
  const vmName = args['vm-name'];
  const taskName = args['task-name'] ?? (vmName ? defaultTaskName(vmName) : undefined);
  if (!taskName) throw new CliError('ERR_USAGE', 'give --vm-name or --task-name', ExitCode.Usage);
  try {
    const plan = unregisterPlan(taskName, serviceContext(args));
    await runPlan(plan, run);
    return { data: [{ TaskName: taskName, VMName: vmName ?? null, IntervalSec: null, Command: null, Scheduler: plan.scheduler, Status: 'Removed' }] };
  } catch (error) {
    rethrowCoded(error);
  }
}
