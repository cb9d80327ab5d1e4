/**
 * What `service install|uninstall` does, as data: the programs to run and the files to write, for the
 * Windows Service Control Manager (sc.exe, reg.exe) and for systemd. Kept free of side effects so that
 * the exact command lines are unit-tested on any platform.
 */
import { posix } from 'node:path';
import { AGENT_NODE_OPTIONS } from '../../../agent/agent-node-options.js';
import { REPLICA_SERVER_NODE_OPTIONS } from '../../../replica/server-node-options.js';

export type ServiceRole = 'replica-server' | 'agent';
export const SERVICE_ROLES: readonly ServiceRole[] = ['replica-server', 'agent'];

export interface Step {
  /** Program and arguments, run without a shell. */
  file: string;
  args: string[];
  /** Exit codes that mean "already in the wanted state" (sc stop of a stopped service: 1062). */
  okCodes?: number[];
}

export interface ServicePlan {
  serviceName: string;
  manager: 'WindowsService' | 'Systemd';
  files: Array<{ path: string; content: string }>;
  removeFiles: string[];
  steps: Step[];
}

export interface ServiceContext {
  platform: NodeJS.Platform;
  /** node.exe / node running hvreplica. */
  nodePath: string;
  /** bin/hvreplica.js of this installation. */
  cliPath: string;
  stateDir: string;
  /** systemd unit directory (default /etc/systemd/system). */
  systemdDir?: string;
}

export function defaultServiceName(role: ServiceRole): string {
  return `hvreplica-${role}`;
}

/** The role's long-running command (owned by the server and agent modules). */
export function roleCommand(role: ServiceRole): string[] {
  return role === 'replica-server' ? ['server', 'run'] : ['agent', 'run'];
}

/** Options for node itself when it runs the role: each role's heap settings (server-node-options.ts, agent-node-options.ts). */
export function roleNodeOptions(role: ServiceRole): string[] {
  return role === 'replica-server' ? [...REPLICA_SERVER_NODE_OPTIONS] : [...AGENT_NODE_OPTIONS];
}

/** Event sources need a message file; .NET's EventLogMessages.dll prints each event's own text. */
export const EVENT_MESSAGE_FILE = '%SystemRoot%\\Microsoft.NET\\Framework64\\v4.0.30319\\EventLogMessages.dll';

export function eventSourceKey(serviceName: string): string {
  return `HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\${serviceName}`;
}

function quoteWindows(arg: string): string {
  return /[\s"]/.test(arg) ? `"${arg.replace(/"/g, '\\"')}"` : arg;
}

export function windowsCommandLine(parts: string[]): string {
  return parts.map(quoteWindows).join(' ');
}

function validateName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/.test(name)) {
    throw Object.assign(new Error(`service name '${name}' must be 1–80 letters, digits, '.', '_' or '-'`), { code: 'ERR_INVALID_ARGUMENT' });
  }
}

export function installPlan(role: ServiceRole, serviceName: string, ctx: ServiceContext): ServicePlan {
  validateName(serviceName);
  if (ctx.platform === 'win32') {
    // The SCM starts `service run`, which connects to it and runs the role as its child.
    const binPath = windowsCommandLine([
      ctx.nodePath,
      ctx.cliPath,
      'service',
      'run',
      `--role=${role}`,
      `--service-name=${serviceName}`,
      `--state-dir=${ctx.stateDir}`,
    ]);
    return {
      serviceName,
      manager: 'WindowsService',
      files: [],
      removeFiles: [],
      steps: [
        { file: 'sc.exe', args: ['create', serviceName, 'binPath=', binPath, 'start=', 'auto', 'DisplayName=', `hvreplica ${role}`] },
        { file: 'sc.exe', args: ['description', serviceName, `hvreplica ${role}: asynchronous VM replication (Hyper-V Replica equivalent)`] },
        { file: 'sc.exe', args: ['failure', serviceName, 'reset=', '86400', 'actions=', 'restart/60000/restart/60000/restart/300000'] },
        { file: 'reg.exe', args: ['add', eventSourceKey(serviceName), '/v', 'EventMessageFile', '/t', 'REG_EXPAND_SZ', '/d', EVENT_MESSAGE_FILE, '/f'] },
        { file: 'reg.exe', args: ['add', eventSourceKey(serviceName), '/v', 'TypesSupported', '/t', 'REG_DWORD', '/d', '7', '/f'] },
        { file: 'sc.exe', args: ['start', serviceName], okCodes: [1056] },
      ],
    };
  }
  const dir = ctx.systemdDir ?? '/etc/systemd/system';
  const unit = [
    '[Unit]',
    `Description=hvreplica ${role}`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    `ExecStart=${[ctx.nodePath, ...roleNodeOptions(role), ctx.cliPath, ...roleCommand(role), `--state-dir=${ctx.stateDir}`].map(systemdQuote).join(' ')}`,
    'Restart=on-failure',
    'RestartSec=60',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
  return {
    serviceName,
    manager: 'Systemd',
    files: [{ path: posix.join(dir, `${serviceName}.service`), content: unit }],
    removeFiles: [],
    steps: [
      { file: 'systemctl', args: ['daemon-reload'] },
      { file: 'systemctl', args: ['enable', '--now', `${serviceName}.service`] },
    ],
  };
}

function systemdQuote(arg: string): string {
  return /[\s"'\\]/.test(arg) ? `"${arg.replace(/(["\\])/g, '\\$1')}"` : arg;
}

export function uninstallPlan(serviceName: string, ctx: ServiceContext): ServicePlan {
  validateName(serviceName);
  if (ctx.platform === 'win32') {
    return {
      serviceName,
      manager: 'WindowsService',
      files: [],
      removeFiles: [],
      steps: [
        // 1062: not started; 1060: no such service (uninstall is idempotent); 2: no such registry key.
        { file: 'sc.exe', args: ['stop', serviceName], okCodes: [1062, 1060] },
        { file: 'sc.exe', args: ['delete', serviceName], okCodes: [1060] },
        { file: 'reg.exe', args: ['delete', eventSourceKey(serviceName), '/f'], okCodes: [1] },
      ],
    };
  }
  const dir = ctx.systemdDir ?? '/etc/systemd/system';
  return {
    serviceName,
    manager: 'Systemd',
    files: [],
    removeFiles: [posix.join(dir, `${serviceName}.service`)],
    steps: [
      { file: 'systemctl', args: ['disable', '--now', `${serviceName}.service`], okCodes: [1, 5] },
      { file: 'systemctl', args: ['daemon-reload'] },
    ],
  };
}

/** sc.exe exits with the Win32 error; these are the ones an administrator meets. */
export function explainExit(file: string, code: number, output: string): { code: string; message: string } {
  const tail = output.trim().split(/\r?\n/).slice(-2).join(' ');
  if (file === 'sc.exe' || file === 'reg.exe') {
    if (code === 5) return { code: 'ERR_ACCESS_DENIED', message: `${file} was denied access: run the command from an elevated prompt (Run as administrator). ${tail}` };
    if (code === 1073) return { code: 'ERR_ALREADY_EXISTS', message: `the service already exists; run 'hvreplica service uninstall' first. ${tail}` };
    if (code === 1060) return { code: 'ERR_NOT_FOUND', message: `no such service. ${tail}` };
  }
  if (file === 'systemctl' && /Access denied|authentication required/i.test(output)) {
    return { code: 'ERR_ACCESS_DENIED', message: `systemctl needs root: run with sudo. ${tail}` };
  }
  return { code: 'ERR_OS', message: `${file} failed with exit code ${code}: ${tail}` };
}

