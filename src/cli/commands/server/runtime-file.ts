/** A small file that says a replica server process is running, so `server get` can report it. */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonFile, writeFileAtomic } from '../../../replica/atomic-file.js';
import { processAlive } from '../../../util/process-alive.js';

export interface ServerRuntime {
  pid: number;
  port: number;
  startedAt: string;
}

function path(stateDir: string): string {
  return join(stateDir, 'replica', 'server.pid.json');
}


export async function readRuntime(stateDir: string): Promise<ServerRuntime | undefined> {
  const runtime = await readJsonFile<ServerRuntime>(path(stateDir)).catch(() => undefined);
  return runtime && Number.isInteger(runtime.pid) && processAlive(runtime.pid) ? runtime : undefined;
}

export async function writeRuntime(stateDir: string, runtime: ServerRuntime): Promise<void> {
  await writeFileAtomic(path(stateDir), JSON.stringify(runtime));
}

export async function clearRuntime(stateDir: string): Promise<void> {
  await rm(path(stateDir), { force: true });
}
