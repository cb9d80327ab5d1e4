/**
 * A replica server as a child process (`hvreplica server run`), for the demo and the end-to-end tests:
 * started, waited for until it listens, stopped gracefully or killed. Its stderr is kept for reports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPLICA_SERVER_NODE_OPTIONS } from '../replica/server-node-options.js';

export const CLI_PATH = fileURLToPath(new URL('../../../bin/hvreplica.js', import.meta.url));

export interface ServerProcessOptions {
  stateDir: string;
  /** Extra `server run` options. */
  args?: string[];
  /** Options for node itself, before the CLI's path (e.g. `--cpu-prof`; NODE_OPTIONS refuses some). */
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the listener (default 30 s). */
  startTimeoutMs?: number;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * node's arguments for the server: the replica server's own node options first (server-node-options.ts, as the
 * service gives them), then the caller's, which may override them (a bench measuring without), then the CLI.
 */
export function serverProcessArgs(options: Pick<ServerProcessOptions, 'stateDir' | 'args' | 'nodeArgs'>): string[] {
  return [...REPLICA_SERVER_NODE_OPTIONS, ...(options.nodeArgs ?? []), CLI_PATH, 'server', 'run', '--listen-address=127.0.0.1', '--json', `--state-dir=${options.stateDir}`, ...(options.args ?? [])];
}

export class ServerProcess {
  stderr = '';
  private exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.stdout?.resume();
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const child = spawn(process.execPath, serverProcessArgs(options), {
      env: { ...process.env, HVR_LOG_LEVEL: 'info', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new ServerProcess(child);
    const runtime = join(options.stateDir, 'replica', 'server.pid.json');
    const deadline = (options.startTimeoutMs ?? 30_000) / 100;
    for (let i = 0; i < deadline; i += 1) {
      if (!server.running) throw new Error(`the replica server exited during start-up:\n${server.stderr}`);
      const pid = await readFile(runtime, 'utf8').then((t) => (JSON.parse(t) as { pid: number }).pid, () => undefined);
      if (pid === child.pid) return server;
      await sleep(100);
    }
    await server.kill();
    throw new Error(`the replica server did not start listening in time:\n${server.stderr}`);
  }

  /** SIGTERM, and the exit code of the graceful stop. */
  async stop(): Promise<number | null> {
    if (!this.running) return this.child.exitCode;
    this.child.kill('SIGTERM');
    return this.exited;
  }

  /** SIGKILL: a crash, nothing flushed or cleaned up. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
