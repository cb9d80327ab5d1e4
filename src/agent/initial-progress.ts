/**
 * The progress of a running initial replication, in a small file beside the VM's cycle lock
 * (`<state>/failover/<VMId>.initial.json`), written by the process that runs the copy (often a background
 * `hvreplica initial start --wait` that outlives the command that started it) and read by
 * `replication get|measure`: Hyper-V shows the running copy as a task with a percentage
 * (VMReplicationHealth.CurrentTask, docs/cli-contract.md §2.8). The file also carries how the copy
 * ended, so a failed copy is reported with its error, and names the process, so a copy whose process
 * was killed is seen as failed instead of in progress forever.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeGuid } from '../protocol/index.js';
import type { DeliveryProgress } from '../transport/index.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { identityOfThisProcess, processRuns, type ProcessIdentity } from '../util/holder-file.js';

export type InitialProgressStatus = 'Running' | 'Completed' | 'Failed' | 'Cancelled';

export interface InitialProgress {
  /** The process running the copy. */
  Pid: number;
  /**
   * That process's start (src/util/holder-file.ts), so that after a crash and a reboot a copy whose id now
   * names another process reads as failed, not as running for ever; absent in files of earlier versions.
   */
  PidStart?: string;
  Method: 'OverNetwork' | 'UsingBackup';
  StartTime: string;
  /** Bytes of log encoded from the disks so far (the copy reads and sends at once). */
  SpooledBytes: number;
  /** Bytes of log the replica has received. */
  BytesTransferred: number;
  /** Bytes of log in all, known once every disk has been read; null until then. */
  BytesTotal: number | null;
  Status: InitialProgressStatus;
  Error: string | null;
  EndTime: string | null;
  /** Where the background process writes its output, if it runs in the background. */
  LogFile: string | null;
}

/** How often a running copy rewrites the file at most. */
const WRITE_INTERVAL_MS = 500;

export function initialProgressFile(stateDir: string, vmId: string): string {
  return join(stateDir, 'failover', `${normalizeGuid(vmId, 'VM id')}.initial.json`);
}

export async function readInitialProgress(stateDir: string, vmId: string): Promise<InitialProgress | undefined> {
  try {
    return JSON.parse(await readFile(initialProgressFile(stateDir, vmId), 'utf8')) as InitialProgress;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export function writeInitialProgress(stateDir: string, vmId: string, progress: InitialProgress): Promise<void> {
  return writeFileAtomic(initialProgressFile(stateDir, vmId), `${JSON.stringify(progress, null, 2)}\n`);
}

/** The progress as it really is: a copy still "Running" whose process is gone (also when its id now names another process) failed (killed or crashed). */
export function observedProgress(progress: InitialProgress, runs: (process: ProcessIdentity) => boolean = processRuns): InitialProgress {
  if (progress.Status !== 'Running' || runs({ pid: progress.Pid, ...(progress.PidStart === undefined ? {} : { start: progress.PidStart }) })) return progress;
  return {
    ...progress,
    Status: 'Failed',
    Error: `the initial replication process ${progress.Pid} ended without finishing (it was killed or crashed)${progress.LogFile ? `; see ${progress.LogFile}` : ''}; start it again with "hvreplica initial start"`,
  };
}

/** The running copy as a Hyper-V task (VMReplicationHealth.CurrentTask), or none once it has ended. */
export function initialReplicationTask(progress: InitialProgress | undefined): Record<string, unknown>[] {
  if (!progress || progress.Status !== 'Running') return [];
  const percent = progress.BytesTotal ? Math.min(100, Math.floor((progress.BytesTransferred / progress.BytesTotal) * 100)) : 0;
  return [{ Name: 'InitialReplication', PercentComplete: percent, StartTime: progress.StartTime, BytesTransferred: progress.BytesTransferred, BytesTotal: progress.BytesTotal }];
}

/**
 * Records a copy's progress as it runs: `update` takes the transport's progress (written at most every
 * half second, never blocking the copy), `end` writes how it ended and waits for every write.
 */
export class InitialProgressRecorder {
  private progress: InitialProgress;
  private lastWrite = 0;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly stateDir: string,
    private readonly vmId: string,
    base: Pick<InitialProgress, 'Method' | 'LogFile'>,
  ) {
    const { start } = identityOfThisProcess();
    this.progress = { Pid: process.pid, ...(start === undefined ? {} : { PidStart: start }), StartTime: new Date().toISOString(), SpooledBytes: 0, BytesTransferred: 0, BytesTotal: null, Status: 'Running', Error: null, EndTime: null, ...base };
  }

  get current(): InitialProgress {
    return this.progress;
  }

  begin(): Promise<void> {
    return this.write();
  }

  update(delivery: DeliveryProgress): void {
    this.progress =
      delivery.phase === 'spool'
        ? { ...this.progress, SpooledBytes: delivery.bytes }
        : { ...this.progress, BytesTransferred: delivery.bytes, BytesTotal: delivery.total ?? this.progress.BytesTotal };
    if (Date.now() - this.lastWrite >= WRITE_INTERVAL_MS) void this.write().catch(() => undefined);
  }

  async end(status: Exclude<InitialProgressStatus, 'Running'>, error?: unknown): Promise<void> {
    this.progress = { ...this.progress, Status: status, Error: error === undefined ? null : (error as Error).message ?? String(error), EndTime: new Date().toISOString() };
    if (status === 'Completed' && this.progress.BytesTotal === null) this.progress.BytesTotal = this.progress.BytesTransferred;
    await this.write();
  }

  private write(): Promise<void> {
    this.lastWrite = Date.now();
    const snapshot = this.progress;
    // One write at a time, in order, so a late periodic write never overwrites how the copy ended.
    this.writing = this.writing.catch(() => undefined).then(() => writeInitialProgress(this.stateDir, this.vmId, snapshot));
    return this.writing;
  }
}
