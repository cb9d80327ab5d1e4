import { join } from 'node:path';

/** Where a host keeps its state: relationships, replica storage defaults, logs. One per host. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.HVR_STATE_DIR) return env.HVR_STATE_DIR;
  if (platform === 'win32') return join(env.ProgramData ?? 'C:\\ProgramData', 'hvreplica');
  return '/var/lib/hvreplica';
}
