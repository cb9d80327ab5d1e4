import { spawn } from 'node:child_process';

/** The id of a process that has exited (a holder left by a crash names one). */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}
