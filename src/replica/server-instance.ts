/**
 * One replica server per state directory. Two would open the same replica storage folders, each
 * dropping the other's upload marks at start-up (upload-marks.ts) and racing to apply the same logs; a
 * second one usually fails to listen on the same port, but not when it is given another (a changed
 * setting, --listen-address). So a server claims its state directory before it opens anything, in a
 * file naming its process (holder-file.ts: its id and start), and a second server is refused while that
 * process lives. A claim whose process is gone (also when its id now names another process, after a reboot
 * or a long time) was left by a crash and is taken over.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../logging/logger.js';
import { ReplicaError } from './errors.js';
import { adviceWhenHeld, brokenHolderMessage, createHolderFile, describeHolder, holderGone, holderOfThisProcess, readHolderFile, releaseHolderFile, removeHolderFileIf, TAKEOVER_GUARD_BOUND_MS, takeoverHolder } from '../util/holder-file.js';

const log = logger('server-instance');

/** A claim file without a readable holder (torn by a crash: claims are linked in whole) is taken over after this. */
const UNNAMED_GRACE_MS = 2_000;
/**
 * How long a starting server waits while another process takes a crashed server's claim over: that takes
 * milliseconds, so a takeover that lasts longer belongs to a process that hangs. Longer than a guard that
 * names no process is kept (torn by a power loss), so that a start gets past one of those.
 */
export const TAKEOVER_WAIT_MS = TAKEOVER_GUARD_BOUND_MS + 15_000;

export function serverInstanceFile(stateDir: string): string {
  return join(stateDir, 'replica', 'server.instance.json');
}

/** Claims `stateDir` for this process's replica server; the function returned gives it up. */
export async function claimServerInstance(stateDir: string, options: { takeoverWaitMs?: number } = {}): Promise<() => Promise<void>> {
  const takeoverWaitMs = options.takeoverWaitMs ?? TAKEOVER_WAIT_MS;
  const path = serverInstanceFile(stateDir);
  await mkdir(join(stateDir, 'replica'), { recursive: true });
  const me = holderOfThisProcess('replica server');
  let unnamedSince: number | undefined;
  let takeoverWaitSince: number | undefined;
  for (;;) {
    if (await createHolderFile(path, me)) break;
    const holder = await readHolderFile(path);
    if (holder && !holderGone(holder)) {
      throw new ReplicaError(
        'ERR_BUSY',
        `a replica server (${describeHolder(holder)}) already serves the state directory ${stateDir}; ` +
          `stop it before starting another ("hvreplica server get" shows it); ${adviceWhenHeld(holder, path, 'an hvreplica server')}`,
      );
    }
    if (!holder) {
      unnamedSince ??= Date.now();
      if (Date.now() - unnamedSince < UNNAMED_GRACE_MS) {
        await sleep(50);
        continue;
      }
      log.warn(brokenHolderMessage(path));
    }
    // Removed only if it still names that holder: another server starting now may have taken it over first.
    if (await removeHolderFileIf(path, holder)) takeoverWaitSince = undefined;
    else {
      takeoverWaitSince ??= Date.now();
      if (Date.now() - takeoverWaitSince >= takeoverWaitMs) {
        const taker = await takeoverHolder(path);
        throw new ReplicaError(
          'ERR_BUSY',
          `the replica server's claim ${path} of a crashed server is being taken over by ${taker ? describeHolder(taker) : 'another process'} for more than ${takeoverWaitMs / 1000} s; ` +
            `try again, and if it stays so, ${taker ? adviceWhenHeld(taker, `${path}.takeover`, 'an hvreplica server starting') : `delete ${path}.takeover`}`,
        );
      }
      await sleep(50);
    }
    unnamedSince = undefined;
  }
  return () => releaseHolderFile(path, me);
}

/**
 * Gives up the claim of a server process known to have exited, for the Windows service that ran it: the
 * service ends its child with TerminateProcess (node's kill() on Windows), which runs none of the child's
 * clean-up, and Windows soon gives a freed process id to another process; left behind, the claim could name
 * a live stranger by the next start, which would then be refused. A claim of any other process stays.
 */
export async function releaseExitedServerClaim(stateDir: string, pid: number): Promise<void> {
  const path = serverInstanceFile(stateDir);
  const holder = await readHolderFile(path);
  if (holder?.pid === pid) await removeHolderFileIf(path, holder);
}
