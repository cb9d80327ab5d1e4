/** `service install|uninstall|run`: hvreplica's roles as a Windows service (or a systemd unit). */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { hypervBinding } from '../../../host/hyperv/native.js';
import { logger } from '../../../logging/logger.js';
import { releaseExitedServerClaim } from '../../../replica/server-instance.js';
import { packageRoot } from '../../../native/binding.js';
import type { GlobalOptions } from '../../command-kit.js';
import type { CommandResult } from '../../output.js';
import { defaultServiceName, installPlan, roleCommand, roleNodeOptions, uninstallPlan, type ServiceContext, type ServiceRole } from './plan.js';
import { runPlan, type StepRunner } from './runner.js';
import { stopChild } from './child-stop.js';

const log = logger('service');

export interface ServiceArgs extends GlobalOptions {
  role: ServiceRole;
  'service-name'?: string;
}

export interface ServiceResult {
  ServiceName: string;
  Role: ServiceRole;
  Manager: 'WindowsService' | 'Systemd';
  Status: 'Running' | 'Stopped' | 'Removed';
}

export function serviceContext(args: GlobalOptions): ServiceContext {
  return {
    platform: process.platform,
    nodePath: process.execPath,
    cliPath: join(packageRoot, 'bin', 'hvreplica.js'),
    stateDir: args['state-dir'],
    ...(process.env.HVR_SYSTEMD_DIR ? { systemdDir: process.env.HVR_SYSTEMD_DIR } : {}),
  };
}

export async function installService(args: ServiceArgs, run?: StepRunner): Promise<CommandResult<ServiceResult>> {
  const name = args['service-name'] ?? defaultServiceName(args.role);
  const plan = installPlan(args.role, name, serviceContext(args));
  await runPlan(plan, run);
  return { data: { ServiceName: name, Role: args.role, Manager: plan.manager, Status: 'Running' } };
}

export async function uninstallService(args: ServiceArgs, run?: StepRunner): Promise<CommandResult<ServiceResult>> {
  const name = args['service-name'] ?? defaultServiceName(args.role);
  const plan = uninstallPlan(name, serviceContext(args));
  await runPlan(plan, run);
  return { data: { ServiceName: name, Role: args.role, Manager: plan.manager, Status: 'Removed' } };
}

/**
 * What the SCM starts: connects to the SCM, runs the role as a child process and stops it when the SCM
 * asks. Keeping the role a child means the server and agent need no Windows-specific code, and a role
 * that crashes is reported to the SCM (which restarts it per the failure actions set at install).
 */
export async function runService(args: ServiceArgs): Promise<CommandResult<ServiceResult>> {
  const name = args['service-name'] ?? defaultServiceName(args.role);
  const hv = hypervBinding();
  const event = (level: 0 | 1 | 2, id: number, message: string) => {
    try {
      hv.reportEvent(name, level, id, message);
    } catch (error) {
      log.warn(`could not write to the Application event log: ${(error as Error).message}`);
    }
  };
  let child: ReturnType<typeof spawn> | undefined;
  let stopping = false;
  await hv.serviceStart(name, () => {
    stopping = true;
    event(2, 2, `hvreplica ${args.role} is stopping at the request of the Service Control Manager`);
    if (child) void stopChild(child);
  });
  const ctx = serviceContext(args);
  child = spawn(ctx.nodePath, [...roleNodeOptions(args.role), ctx.cliPath, ...roleCommand(args.role), `--state-dir=${ctx.stateDir}`], {
    // The channel carries the stop request (stop-request.ts): Windows has no SIGTERM to send.
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    windowsHide: true,
    // The role adds the Application event log to its logging when this names the registered source.
    env: { ...process.env, HVR_EVENT_LOG_SOURCE: name },
  });
  event(2, 1, `hvreplica ${args.role} started (process ${child.pid ?? '?'})`);
  const code = await new Promise<number>((resolve) => {
    child!.once('exit', (exitCode) => resolve(exitCode ?? 0));
    child!.once('error', (error) => {
      event(0, 3, `hvreplica ${args.role} could not start: ${error.message}`);
      resolve(1);
    });
  });
  // Ended by TerminateProcess (it did not stop within the grace) or a crash, the server could not give its state
  // directory's claim up itself.
  if (args.role === 'replica-server' && child.pid !== undefined) {
    await releaseExitedServerClaim(ctx.stateDir, child.pid).catch((error: unknown) => log.warn(`could not give up the exited server's claim: ${(error as Error).message}`));
  }
  if (!stopping) event(0, 4, `hvreplica ${args.role} ended unexpectedly with exit code ${code}; the service manager restarts it`);
  // ERROR_PROCESS_ABORTED (1067) tells the SCM to apply the failure actions.
  hv.serviceStopped(stopping ? 0 : 1067);
  return { data: { ServiceName: name, Role: args.role, Manager: 'WindowsService', Status: 'Stopped' } };
}
