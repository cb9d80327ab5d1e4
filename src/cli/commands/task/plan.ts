/**
 * `task register|unregister` as data: a Task Scheduler task (schtasks.exe) on Windows, a systemd timer
 * elsewhere, that runs `hvreplica replicate --vm NAME` every interval on hosts that run no agent.
 */
import { posix } from 'node:path';
import type { Step } from '../service/plan.js';
import { windowsCommandLine } from '../service/plan.js';

export const TASK_INTERVALS = [30, 300, 900] as const;
export type TaskInterval = (typeof TASK_INTERVALS)[number];

export interface TaskContext {
  platform: NodeJS.Platform;
  nodePath: string;
  cliPath: string;
  stateDir: string;
  systemdDir?: string;
}

export interface TaskPlan {
  taskName: string;
  scheduler: 'TaskScheduler' | 'SystemdTimer';
  command: string;
  files: Array<{ path: string; content: string }>;
  removeFiles: string[];
  steps: Step[];
}

export function defaultTaskName(vmName: string): string {
  return `hvreplica-replicate-${vmName.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

function validateTaskName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(name)) {
    throw codedError('ERR_INVALID_ARGUMENT', `task name '${name}' must be letters, digits, '.', '_' or '-'`);
  }
}

/** Task Scheduler folder for hvreplica's tasks, so they are easy to find and never collide. */
export const TASK_FOLDER = '\\hvreplica\\';

export function registerPlan(vmName: string, interval: TaskInterval, taskName: string, ctx: TaskContext): TaskPlan {
  validateTaskName(taskName);
  if (vmName.length === 0 || /["\r\n]/.test(vmName)) throw codedError('ERR_INVALID_ARGUMENT', `VM name '${vmName}' is not usable in a task`);
  const argv = [ctx.nodePath, ctx.cliPath, 'replicate', `--vm=${vmName}`, `--state-dir=${ctx.stateDir}`];
  if (ctx.platform === 'win32') {
    if (interval < 60) {
      // Task Scheduler repeats at most once a minute.
      throw codedError(
        'ERR_NOT_SUPPORTED',
        'Task Scheduler cannot repeat a task more often than once a minute; for 30-second replication install the agent service (hvreplica service install --role agent)',
      );
    }
    const command = windowsCommandLine(argv);
    if (command.length > 261) {
      throw codedError('ERR_INVALID_ARGUMENT', `the task's command line is ${command.length} characters; schtasks accepts 261. Install hvreplica or the state directory in a shorter path`);
    }
    return {
      taskName,
      scheduler: 'TaskScheduler',
      command,
      files: [],
      removeFiles: [],
      steps: [
        {
          file: 'schtasks.exe',
          args: ['/Create', '/F', '/TN', `${TASK_FOLDER}${taskName}`, '/TR', command, '/SC', 'MINUTE', '/MO', String(interval / 60), '/RU', 'SYSTEM', '/RL', 'HIGHEST'],
        },
      ],
    };
  }
  const dir = ctx.systemdDir ?? '/etc/systemd/system';
  const quote = (a: string) => (/[\s"'\\]/.test(a) ? `"${a.replace(/(["\\])/g, '\\$1')}"` : a);
  const command = argv.map(quote).join(' ');
  const service = ['[Unit]', `Description=hvreplica: replicate VM ${vmName}`, '', '[Service]', 'Type=oneshot', `ExecStart=${command}`, ''].join('\n');
  const timer = [
    '[Unit]',
    `Description=hvreplica: replicate VM ${vmName} every ${interval} s`,
    '',
    '[Timer]',
    `OnBootSec=${interval}s`,
    `OnUnitActiveSec=${interval}s`,
    'AccuracySec=1s',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
  return {
    taskName,
    scheduler: 'SystemdTimer',
    command,
    files: [
      { path: posix.join(dir, `${taskName}.service`), content: service },
      { path: posix.join(dir, `${taskName}.timer`), content: timer },
    ],
    removeFiles: [],
    steps: [
      { file: 'systemctl', args: ['daemon-reload'] },
      { file: 'systemctl', args: ['enable', '--now', `${taskName}.timer`] },
    ],
  };
}

export function unregisterPlan(taskName: string, ctx: TaskContext): TaskPlan {
  validateTaskName(taskName);
  if (ctx.platform === 'win32') {
    return {
      taskName,
      scheduler: 'TaskScheduler',
      command: '',
      files: [],
      removeFiles: [],
      steps: [{ file: 'schtasks.exe', args: ['/Delete', '/F', '/TN', `${TASK_FOLDER}${taskName}`] }],
    };
  }
  const dir = ctx.systemdDir ?? '/etc/systemd/system';
  return {
    taskName,
    scheduler: 'SystemdTimer',
    command: '',
    files: [],
    removeFiles: [posix.join(dir, `${taskName}.timer`), posix.join(dir, `${taskName}.service`)],
    steps: [
      { file: 'systemctl', args: ['disable', '--now', `${taskName}.timer`], okCodes: [1, 5] },
      { file: 'systemctl', args: ['daemon-reload'] },
    ],
  };
}
