import type { Argv, CommandModule } from 'yargs';
import { action, type GlobalOptions } from '../../command-kit.js';
import type { TaskArgs } from './impl.js';
import { TASK_INTERVALS } from './plan.js';

export const taskCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'task <action>',
  describe: 'Scheduled replication of one VM (Task Scheduler; a systemd timer on Linux) for hosts without the agent',
  builder: (yargs) =>
    yargs
      .command({
        command: 'register',
        describe: 'Run "hvreplica replicate --vm NAME" every interval',
        builder: (y: Argv<GlobalOptions>) =>
          y
            .option('vm-name', { type: 'string', demandOption: true, describe: 'The VM to replicate' })
            .option('interval-sec', { type: 'number', choices: TASK_INTERVALS, describe: 'Seconds between cycles (default 300)' })
            .option('task-name', { type: 'string', describe: 'Task name (default hvreplica-replicate-<vm>)' }) as unknown as Argv<TaskArgs>,
        handler: action('task register', async (args: TaskArgs) => (await import('./impl.js')).registerTask(args), { logToFile: true }),
      })
      .command({
        command: 'unregister',
        describe: 'Remove the scheduled task of a VM',
        builder: (y: Argv<GlobalOptions>) =>
          y
            .option('vm-name', { type: 'string', describe: 'The VM whose task to remove' })
            .option('task-name', { type: 'string', describe: 'The task to remove' })
            .check((a) => (a['vm-name'] || a['task-name'] ? true : 'give --vm-name or --task-name')) as unknown as Argv<TaskArgs>,
        handler: action('task unregister', async (args: TaskArgs) => (await import('./impl.js')).unregisterTask(args), { logToFile: true }),
      })
      .demandCommand(1),
  handler: () => undefined,
};
