/**
 * A small file that says a replica server process is running, so `server get` can report it. It names the
 * process by its id and start (src/util/holder-file.ts): after a crash and a reboot, a file whose id now
 * names an unrelated process would report a server that does not run. One of an earlier version names the
 * id only and is judged by it alone.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonFile, writeFileAtomic } from '../../../replica/atomic-file.js';
import { processRuns, type ProcessIdentity } from '../../../util/holder-file.js';

export interface ServerRuntime extends ProcessIdentity {
  port: number;
  startedAt: string;
}

function path(stateDir: string): string {
  return join(stateDir, 'replica', 'server.pid.json');
}

export async function readRuntime(stateDir: string): Promise<ServerRuntime | undefined> {
  const runtime = await readJsonFile<ServerRuntime>(path(stateDir)).catch(() => undefined);
  return runtime && processRuns(runtime) ? runtime : undefined;
}

export async function writeRuntime(stateDir: string, runtime: ServerRuntime): Promise<void> {
  await writeFileAtomic(path(stateDir), JSON.stringify(runtime));
}

export async function clearRuntime(stateDir: string): Promise<void> {
  await rm(path(stateDir), { force: true });
}
