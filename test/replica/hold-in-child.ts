/** A real process holding a lock (a holder file) until it is killed, for tests of what others make of it. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { processStartIdentity } from '../../src/native/process-start.js';

export interface HoldingChild {
  pid: number;
  /** Its start identity, as its holder file names it. */
  start: string;
  /** Kills it with SIGKILL (a crash: it gives nothing up) and waits until it has exited. */
  kill: () => Promise<void>;
}

/**
 * Starts a process that calls `exported` of the module at `moduleUrl` (a lock's `with…` function) with
 * `args` and then a body that never ends; resolves once that body runs, i.e. the process holds the lock.
 */
export async function holdInChild(moduleUrl: string, exported: string, args: readonly unknown[]): Promise<HoldingChild> {
  const script =
    `const { ${exported}: hold } = await import(${JSON.stringify(moduleUrl)});` +
    `setInterval(() => undefined, 1000);` +
    `await hold(...${JSON.stringify(args)}, () => { process.stdout.write('held\\n'); return new Promise(() => undefined); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('held')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the holder exited (${code}) before it held the lock`)));
  });
  const start = processStartIdentity(child.pid!);
  assert.ok(start, 'this system tells when a process started');
  return {
    pid: child.pid!,
    start,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}
