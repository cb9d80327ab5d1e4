/**
 * Real processes for holder files whose process id was given to another process: a live unrelated process
 * (`sleep`), and the start identity of a process that has exited (the crashed holder that had the id).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { processStartIdentity } from '../../src/native/process-start.js';

/**
 * A live process that is no hvreplica holder; kill it when done. Its start differs from `notStarting` (a
 * process's start is counted in clock ticks, and two processes forked in the same tick share it: a crashed
 * holder and a later process given its id never do, since the holder ran for longer than a tick).
 */
export async function liveStranger(notStarting?: string): Promise<ChildProcess> {
  for (;;) {
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    await once(child, 'spawn');
    if (notStarting === undefined || processStartIdentity(child.pid!) !== notStarting) return child;
    await stopStranger(child);
  }
}

export async function stopStranger(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill();
  await exited;
}

/** The start identity a process had, read by itself before it exited. */
export async function startOfExitedProcess(): Promise<string> {
  const moduleUrl = new URL('../../src/native/process-start.js', import.meta.url).href;
  const script = `const { processStartIdentity } = await import(${JSON.stringify(moduleUrl)}); process.stdout.write(processStartIdentity(process.pid) ?? '');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0 || out === '') throw new Error(`the process could not say its start identity (exit ${code}): '${out}'`);
  return out;
}
