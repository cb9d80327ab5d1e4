/**
 * `task register|unregister` as data: a Task Scheduler task (schtasks.exe) on Windows, a systemd timer
 * elsewhere, that runs `hvreplica replicate --vm NAME` every interval on hosts that run no agent.
 *
 * Task Scheduler repeats a trigger at most once a minute. A 30-second task is therefore one task with
 * two time triggers, at second 0 and second 30 of every minute, each repeating every minute (task XML,
 * `schtasks /Create /XML`): an administrator sees one task, its history shows one run per cycle, and
 * IgnoreNew keeps a cycle that outlasts 30 s from being started twice (the VM's cycle lock would refuse
 * the second anyway).
 */
import { join, posix } from 'node:path';
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
  /** utf16le: written with a byte-order mark, the encoding Task Scheduler's XML import expects. */
  files: Array<{ path: string; content: string; encoding?: 'utf8' | 'utf16le' }>;
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

/** Where the task XML of a 30-second task is kept (it is what schtasks imported; unregister removes it). */
export function taskXmlPath(stateDir: string, taskName: string): string {
  // The platform's join: on Windows that is win32; tests on Linux write the plan into a temporary folder.
  return join(stateDir, 'tasks', `${taskName}.xml`);
}

function xmlText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Task Scheduler 1.2 XML: two triggers 30 s apart, each repeating every minute, run as SYSTEM, elevated. */
export function thirtySecondTaskXml(vmName: string, taskName: string, program: string, args: string): string {
  const trigger = (second: string) =>
    [
      '    <TimeTrigger>',
      '      <Repetition><Interval>PT1M</Interval><StopAtDurationEnd>false</StopAtDurationEnd></Repetition>',
      `      <StartBoundary>2000-01-01T00:00:${second}</StartBoundary>`,
      '      <Enabled>true</Enabled>',
      '    </TimeTrigger>',
    ].join('\r\n');
  return [
    '<?xml version="1.0" encoding="UTF-16"?>',
    '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
    '  <RegistrationInfo>',
    `    <Description>${xmlText(`hvreplica: replicate VM ${vmName} every 30 s (two triggers, at second 0 and 30 of each minute)`)}</Description>`,
    `    <URI>${xmlText(`${TASK_FOLDER}${taskName}`)}</URI>`,
    '  </RegistrationInfo>',
    '  <Triggers>',
    trigger('00'),
    trigger('30'),
    '  </Triggers>',
    '  <Principals>',
    '    <Principal id="Author"><UserId>S-1-5-18</UserId><RunLevel>HighestAvailable</RunLevel></Principal>',
    '  </Principals>',
    '  <Settings>',
    '    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>',
    '    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>',
    '    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>',
    '    <StartWhenAvailable>true</StartWhenAvailable>',
    '    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>',
    '    <Enabled>true</Enabled>',
    '  </Settings>',
    '  <Actions Context="Author">',
    `    <Exec><Command>${xmlText(program)}</Command><Arguments>${xmlText(args)}</Arguments></Exec>`,
    '  </Actions>',
    '</Task>',
    '',
  ].join('\r\n');
}

export function registerPlan(vmName: string, interval: TaskInterval, taskName: string, ctx: TaskContext): TaskPlan {
  validateTaskName(taskName);
  if (vmName.length === 0 || /["\r\n]/.test(vmName)) throw codedError('ERR_INVALID_ARGUMENT', `VM name '${vmName}' is not usable in a task`);
  const argv = [ctx.nodePath, ctx.cliPath, 'replicate', `--vm=${vmName}`, `--state-dir=${ctx.stateDir}`];
  if (ctx.platform === 'win32') {
    if (interval < 60) {
      // Task Scheduler repeats a trigger at most once a minute: two triggers 30 s apart (see the top).
      const xmlPath = taskXmlPath(ctx.stateDir, taskName);
      return {
        taskName,
        scheduler: 'TaskScheduler',
        command: windowsCommandLine(argv),
        files: [{ path: xmlPath, content: thirtySecondTaskXml(vmName, taskName, argv[0]!, windowsCommandLine(argv.slice(1))), encoding: 'utf16le' }],
        removeFiles: [],
        steps: [{ file: 'schtasks.exe', args: ['/Create', '/F', '/TN', `${TASK_FOLDER}${taskName}`, '/XML', xmlPath] }],
      };
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
      // The XML a 30-second task was imported from; absent for the others, which rm ignores.
      removeFiles: [taskXmlPath(ctx.stateDir, taskName)],
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
