/**
 * One relationship's delta cycle on the primary (DESIGN §3 steps 2–8), steppable: `syncOnce()` runs
 * exactly one cycle and returns what it did; the scheduler only decides when to call it.
 *
 *   create a reference point → list each disk's changes since the last acknowledged point → read them
 *   from the frozen image → encode one log per disk → deliver the cycle to the sink → on the
 *   acknowledgement save the new position, then commit the point (before returning, or after it with
 *   `commitInBackground`, as the agent runs cycles).
 *
 * On any failure before the acknowledgement the new point is discarded, never the old one, so the next
 * cycle lists the union of both cycles' changes against the same base and nothing is lost.
 */
import type { DiskImage } from '../host/disk-image.js';
import type { HostAdapter, ReferencePoint, VmDescription, VmDisk } from '../host/host-adapter.js';
import { logger } from '../logging/logger.js';
import type { CodecPolicy } from '../protocol/codec.js';
import { encodeLog, type LogRecordInput } from '../protocol/log-encoder.js';
import type { Consistency, LogHeaderInput } from '../protocol/log-format.js';
import { isNestedRecordHash, type NestedRecordHash } from '../protocol/record-hash.js';
import { isResyncRequired } from '../tracking/change-tracker.js';
import type { ReplicaDiskSpec } from '../storage/replica-storage.js';
import { EngineError } from './errors.js';
import { diskLogId, vmLogId } from './ids.js';
import type { LogSink, OutgoingLog } from './log-sink.js';
import { PhaseTimes } from './phase-times.js';
import { chunkReads, readAhead, type PlannedRecord, type ReadWindow } from './read-ahead.js';
import { READ_REQUEST_BYTES } from '../util/recycled-buffers.js';
import type { PreparedFile } from '../util/atomic-file.js';
import { loadPrimaryState, preparePrimaryState, savePrimaryState, type PrimaryState } from './primary-state.js';

const log = logger('replicator');

/** Bytes read from the frozen image per record; bounds memory whatever the size of an extent. */
const DEFAULT_READ_CHUNK = 1024 * 1024;
/**
 * A full copy's reads in flight: one request of four records (one pool job, the records' digests computed in it)
 * while the encoder works on the ones before. Four 1 MiB records per job instead of one: 1 GiB read and hashed in
 * 0.40-0.42 CPU s instead of 0.47-0.48 (fewer pool round trips; bench/replication/README.md, branch s6-g).
 */
const FULL_COPY_READ_WINDOW: ReadWindow = { maxReads: 1, maxBytes: READ_REQUEST_BYTES, requestBytes: READ_REQUEST_BYTES };

export interface ReplicatorOptions {
  host: HostAdapter;
  /** The VM's name or id on the host. */
  vm: string;
  sink: LogSink;
  /** The relationship's state file on the primary. */
  stateFile: string;
  /** Decides each cycle's consistency (application when a VSS point is due); default crash. */
  consistency?: () => Consistency;
  /** A fresh policy per log: adaptive policies keep per-stream statistics. */
  codecPolicy?: () => CodecPolicy;
  readChunkBytes?: number;
  /**
   * Commit the reference point after `syncOnce` returns instead of before (default false). The cycle is
   * over once the replica acknowledged it and the position is saved; the commit (on the file host, merging
   * the frozen layer into the base: a copy of the cycle's changed bytes plus a few metadata updates) then
   * runs while the agent waits for its next interval. The next cycle of the VM, in this process, waits for
   * it first (`commitsSettled`); a commit that fails or never finishes (a crash) is done by the next cycle
   * from the saved state, exactly as after a crash between the save and the commit.
   */
  commitInBackground?: boolean;
}

/** Background commits still running, by host VM id: the next cycle of the VM waits for its VM's. */
const backgroundCommits = new Map<string, Promise<void>>();

/** Resolves when every commit left running by `commitInBackground` cycles is over (success or not). */
export async function commitsSettled(vmId?: string): Promise<void> {
  if (vmId !== undefined) await backgroundCommits.get(vmId);
  else await Promise.all([...backgroundCommits.values()]);
}

/** The VM as it is once a background commit of it (if any) is over. */
async function describeAfterCommits(host: HostAdapter, vm: string): Promise<VmDescription> {
  const description = await host.getVm(vm);
  if (!backgroundCommits.has(description.id)) return description;
  await commitsSettled(description.id);
  return host.getVm(vm);
}

function commitLater(host: HostAdapter, vmId: string, pointId: string, vmName: string): void {
  const commit = host
    .commitReferencePoint(vmId, pointId)
    .then(() => log.verbose('reference point committed after the cycle', { vm: vmName, point: pointId }))
    .catch((error: unknown) => log.warn('committing the reference point after the cycle failed; the next cycle finishes it', { vm: vmName, point: pointId, error: (error as Error).message }))
    .finally(() => {
      if (backgroundCommits.get(vmId) === commit) backgroundCommits.delete(vmId);
    });
  backgroundCommits.set(vmId, commit);
}

export interface CycleResult {
  kind: 'initial' | 'delta';
  generation: number;
  sequence: number;
  referencePoint: string;
  consistency: Consistency;
  /** Bytes of log delivered (after compression). */
  logBytes: number;
  /** Changed bytes the cycle carried (data, zero and trim ranges). */
  changedBytes: number;
}

/** The replica disks a VM needs: what to create a ReplicaStorage with. */
export function replicaDisksOf(vm: VmDescription): { vmId: string; disks: ReplicaDiskSpec[] } {
  return {
    vmId: vmLogId(vm.id),
    disks: vm.disks.map((d) => ({ diskId: diskLogId(vm.id, d.id), virtualSize: d.virtualSize, logicalSectorSize: d.logicalSectorSize })),
  };
}

export class Replicator {
  private running: Promise<CycleResult> | undefined;
  private readonly readChunk: number;

  constructor(private readonly options: ReplicatorOptions) {
    this.readChunk = options.readChunkBytes ?? DEFAULT_READ_CHUNK;
    if (!Number.isSafeInteger(this.readChunk) || this.readChunk < 4096 || this.readChunk % 4096 !== 0) {
      throw new EngineError('ERR_INVALID_ARGUMENT', `readChunkBytes must be a positive multiple of 4096, got ${this.readChunk}`);
    }
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Runs one cycle. Refuses (ERR_CYCLE_IN_PROGRESS) while another cycle of this VM runs. */
  syncOnce(signal?: AbortSignal): Promise<CycleResult> {
    if (this.running) {
      return Promise.reject(new EngineError('ERR_CYCLE_IN_PROGRESS', `a replication cycle of ${this.options.vm} is already running; wait for it to finish`));
    }
    const run = this.cycle(signal).finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async cycle(signal?: AbortSignal): Promise<CycleResult> {
    const { host, vm } = this.options;
    signal?.throwIfAborted();
    const phases = new PhaseTimes();
    // The previous cycle's commit, if it runs on: leftover points are judged once it is over.
    const description = await describeAfterCommits(host, vm);
    let state = await loadPrimaryState(this.options.stateFile);
    await this.settleLeftoverPoints(description, state);
    phases.lap('prepare');

    const consistency = this.options.consistency?.() ?? 'crash';
    const point = await host.createReferencePoint(vm, { consistency });
    phases.lap('referencePoint');
    let acknowledged = false;
    let prepared: Promise<PreparedFile> | undefined;
    try {
      const fullCopy = !state || state.fullCopyRequired === true || description.disks.some((d) => state!.disks[d.id] === undefined);
      const generation = !state ? 1 : fullCopy ? state.generation + 1 : state.generation;
      const sequence = fullCopy ? 0 : state!.sequence + 1;
      const vmId = vmLogId(description.id);
      // Per disk, and counted again from 0 by each encoding: an upload may encode a log a second time to resume.
      const changedByDisk = new Map<string, number>();
      const logs: OutgoingLog[] = description.disks.map((disk) => {
        const header: LogHeaderInput = {
          vmId,
          diskId: diskLogId(description.id, disk.id),
          generation,
          sequence,
          baseReferencePoint: fullCopy ? '' : state!.referencePoint,
          newReferencePoint: point.id,
          virtualSize: disk.virtualSize,
          logicalSectorSize: disk.logicalSectorSize,
          consistency,
        };
        const count = (n: number) => changedByDisk.set(disk.id, (changedByDisk.get(disk.id) ?? 0) + n);
        const records: (digests: NestedRecordHash | undefined) => AsyncIterable<LogRecordInput> = fullCopy
          ? this.fullCopyRecords(point, disk, count)
          : this.deltaRecords(point, disk, state!.disks[disk.id]!.trackingId, count, signal);
        const policy = this.options.codecPolicy;
        return {
          diskId: header.diskId,
          header,
          encode: (options) => {
            changedByDisk.set(disk.id, 0);
            // A BLAKE3 or XXH3-128 log takes its payload digests from the reads where they come with them (read-ahead.ts).
            const digests = options?.recordHash !== undefined && isNestedRecordHash(options.recordHash) ? options.recordHash : undefined;
            return encodeLog(header, records(digests), { ...options, ...(policy ? { codecPolicy: policy() } : {}) });
          },
        };
      });
      const disks: PrimaryState['disks'] = {};
      for (const disk of description.disks) {
        disks[disk.id] = { logDiskId: diskLogId(description.id, disk.id), trackingId: trackingIdAt(point, disk.id) };
      }
      const next: PrimaryState = { formatVersion: 1, vmId: description.id, generation, sequence, referencePoint: point.id, disks };
      // Written (and fsynced) while the logs are delivered, put in place only once they are acknowledged.
      prepared = preparePrimaryState(this.options.stateFile, next);
      prepared.catch(() => undefined);
      const ack = await this.options.sink.deliver({ vmId, generation, sequence, logs }, signal);
      const changedBytes = [...changedByDisk.values()].reduce((sum, n) => sum + n, 0);
      phases.lap('deliver');
      if (ack.generation !== generation || ack.sequence !== sequence) {
        throw new EngineError('ERR_NOT_ACKNOWLEDGED', `the replica acknowledged ${ack.generation}/${ack.sequence} instead of ${generation}/${sequence}`);
      }
      // Written ahead when that worked; a passing failure then (a full volume, a file held by a scanner) must not
      // cost a cycle the replica has acknowledged, so the state is then written now, as before it was written ahead.
      const ahead = await prepared.catch((error: unknown) => {
        log.debug('the next state could not be written ahead; writing it after the acknowledgement', { vm: description.name, error: (error as Error).message });
        return undefined;
      });
      await (ahead ? ahead.commit().catch(() => savePrimaryState(this.options.stateFile, next)) : savePrimaryState(this.options.stateFile, next));
      state = next;
      acknowledged = true;
      phases.lap('saveState');
      // A failed commit is finished by the next cycle (settleLeftoverPoints); the point must stay.
      if (this.options.commitInBackground) commitLater(host, description.id, point.id, description.name);
      else await host.commitReferencePoint(vm, point.id);
      phases.lap('commit');
      log.info('cycle acknowledged', { vm: description.name, generation, sequence, logBytes: ack.logBytes, changedBytes });
      log.debug('cycle steps (ms)', { vm: description.name, sequence, ...phases.ms });
      return { kind: fullCopy ? 'initial' : 'delta', generation, sequence, referencePoint: point.id, consistency, logBytes: ack.logBytes, changedBytes };
    } catch (error) {
      if (acknowledged) throw error;
      // The state this cycle would have left never takes effect.
      await prepared?.then((file) => file.abandon(), () => undefined);
      await host.discardReferencePoint(vm, point.id).catch((discardError: unknown) => {
        log.warn('discarding the reference point of a failed cycle failed; the next cycle retries', { vm, point: point.id, error: discardError });
      });
      if (isResyncRequired(error) && state) {
        // Tracking lost its place: only a full copy in a new generation brings the replica back in step.
        await savePrimaryState(this.options.stateFile, { ...state, fullCopyRequired: true });
      }
      throw error;
    }
  }

  /**
   * A crash can leave points behind: the point of the last acknowledged cycle if the crash came after
   * the state was saved but before the commit (commit it), and points of cycles never acknowledged
   * (discard them: their changes are covered by the next cycle).
   */
  private async settleLeftoverPoints(description: VmDescription, state: PrimaryState | undefined): Promise<void> {
    await settleLeftoverPoints(this.options.host, this.options.vm, description, state);
  }

  private fullCopyRecords(point: ReferencePoint, disk: VmDisk, count: (n: number) => void): (digests: NestedRecordHash | undefined) => AsyncIterable<LogRecordInput> {
    const { host, vm } = this.options;
    const chunk = this.readChunk;
    return async function* (digests: NestedRecordHash | undefined) {
      const image = await host.openDiskAt(vm, point.id, disk.id);
      async function* planned(): AsyncGenerator<PlannedRecord> {
        const extents = image.allocation ? await image.allocation() : [{ offset: 0, length: image.virtualSize, state: 'data' as const }];
        for (const extent of extents) {
          count(extent.length);
          // Trim where the primary reads zero, so a full copy over an older replica leaves nothing stale.
          if (extent.state !== 'data') yield { type: 'trim', offset: extent.offset, length: extent.length };
          else yield* chunkReads(extent.offset, extent.length, chunk);
        }
      }
      try {
        // One request ahead (FULL_COPY_READ_WINDOW): in two 4 GiB benches with the delta's window (8 reads in
        // flight) the initial copy's agent took 1-2 s more CPU (runs D, not conclusive).
        yield* readAhead(planned(), async () => image, FULL_COPY_READ_WINDOW, digests ? { digests } : {});
      } finally {
        await image.close();
      }
    };
  }

  private deltaRecords(
    point: ReferencePoint,
    disk: VmDisk,
    since: string,
    count: (n: number) => void,
    signal?: AbortSignal,
  ): (digests: NestedRecordHash | undefined) => AsyncIterable<LogRecordInput> {
    const { host, vm } = this.options;
    const chunk = this.readChunk;
    return async function* (digests: NestedRecordHash | undefined) {
      let image: DiskImage | undefined;
      // The tracker is the source's own, closed when the source ends: a consumer that stops early leaves a listing
      // of the tracker pending (readAhead does not wait for a source), which must not find it closed under it.
      async function* planned(): AsyncGenerator<PlannedRecord> {
        const tracker = await host.changeTracker(vm, point.id, disk.id);
        try {
          for await (const extent of tracker.changesSince(since, signal ? { signal } : {})) {
            count(extent.length);
            if (extent.kind === 'zero') yield { type: 'zero', offset: extent.offset, length: extent.length };
            else yield* chunkReads(extent.offset, extent.length, chunk);
          }
        } finally {
          await tracker.close();
        }
      }
      try {
        yield* readAhead(planned(), async () => (image ??= await host.openDiskAt(vm, point.id, disk.id)), undefined, digests ? { digests } : {});
      } finally {
        await image?.close();
      }
    };
  }
}

/**
 * Commits the frozen point of the last acknowledged cycle (a crash came between saving the state and the
 * commit) and discards every other frozen point (never acknowledged). Anything that sends cycles for the
 * relationship (the Replicator, a hash comparison) does this before taking a new point.
 */
export async function settleLeftoverPoints(host: HostAdapter, vm: string, description: VmDescription, state: PrimaryState | undefined): Promise<void> {
  // A background commit of this VM still running would race these (and `description` predates it).
  if (backgroundCommits.has(description.id)) description = await describeAfterCommits(host, vm);
  for (const point of description.referencePoints) {
    if (point.state !== 'frozen') continue;
    if (state && point.id === state.referencePoint) await host.commitReferencePoint(vm, point.id);
    else await host.discardReferencePoint(vm, point.id);
  }
}

function trackingIdAt(point: ReferencePoint, diskId: string): string {
  const disk = point.disks.find((d) => d.diskId === diskId);
  if (!disk) throw new EngineError('ERR_ENGINE_STATE_CORRUPT', `reference point ${point.id} has no tracking id for disk ${diskId}`);
  return disk.trackingId;
}
