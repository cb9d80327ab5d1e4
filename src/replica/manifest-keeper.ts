/**
 * Keeps the replicas' hash manifests (kept-manifest.ts) up to date in the background, so a comparison days
 * after the initial replication or a resync finds the manifest of the content ready instead of re-hashing
 * the whole disk while the primary waits.
 *
 * Low priority by construction: one VM and one disk at a time server-wide, one hash worker, and only for a
 * VM whose state has not changed for `idleMs` (no cycle arriving). A manifest computed from scratch is
 * hashed in slices, each under the storage lock and each reading the content as it is then. With the
 * server's UploadActivity it gives way to cycles: no slice starts while a log upload runs or ran less than
 * `idleMs` ago, and a slice running when an upload begins stops at its next chunk (and is hashed again
 * later), so a cycle neither waits for a slice to finish nor shares the cores with one. Blocks written
 * meanwhile lie in the layers that were the top at the start or newer, so bringing the result up to date
 * at the end (under the lock) makes it exact; when that cannot be told (a new base meanwhile) the work is
 * dropped and done again at the next quiet moment.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep, setImmediate as yieldToOthers } from 'node:timers/promises';
import { logger } from '../logging/logger.js';
import type { VhdxReplicaStorage } from '../storage/vhdx-replica-storage.js';
import { throwIfAborted } from '../tracking/extents.js';
import { DEFAULT_HASH_ALGORITHM, type HashAlgorithm } from '../tracking/hash/hash-algorithm.js';
import { blockCountOf } from '../tracking/hash/manifest.js';
import { bringUpToDate, chainIdentity, emptyManifest, keptKinds, loadKept, planUpdate, rehashBlocks, topIsEmpty, type KeptManifest, type ManifestKind } from './kept-manifest.js';
import { UploadBeganError, type UploadActivity } from './upload-activity.js';
import { VmRegistry } from './vm-registry.js';

const log = logger('manifest-keeper');

export interface ManifestKeeperOptions {
  /** The block size primaries compare this disk at (kept in any case; sizes asked for before are kept too). */
  blockSizeFor: (virtualSize: number) => number;
  /** The algorithm primaries compare with (kept in any case, at blockSizeFor; default SHA-256). */
  algorithm?: HashAlgorithm;
  /** How often the VMs are looked at (default 5 s). */
  pollMs?: number;
  /** A VM whose state changed less than this ago is busy receiving: left for later (default 5 s). */
  idleMs?: number;
  /** Bytes hashed per slice under the storage lock (default 256 MiB). */
  sliceBytes?: number;
  /** The server's log uploads, which the keeper gives way to (see above); none: it only watches state files. */
  uploads?: UploadActivity;
}

type Locked = <T>(vmDir: string, purpose: string, body: (storage: VhdxReplicaStorage) => Promise<T>) => Promise<T>;

interface Work {
  diskId: string;
  virtualSize: number;
  kind: ManifestKind;
  /** A kept manifest with the chain now, and the blocks changed since; none: a new manifest, every block. */
  from?: { kept: KeptManifest; runs: Array<[number, number]> };
}

export class ManifestKeeper {
  private readonly registry: VmRegistry;
  private readonly abort = new AbortController();
  /** State file marks of the VMs whose manifests are up to date with it. */
  private readonly done = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    stateDir: string,
    private readonly locked: Locked,
    private readonly options: ManifestKeeperOptions,
  ) {
    this.registry = new VmRegistry(stateDir);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.options.pollMs ?? 5_000);
    this.timer.unref();
  }

  /** Stops the loop; work in progress stops at its next slice. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.abort.abort();
    await this.running;
  }

  /** One look at every VM (a tick while the previous one runs is skipped). */
  tick(): Promise<void> {
    this.running ??= this.keepAll().finally(() => (this.running = undefined));
    return this.running;
  }

  private async keepAll(): Promise<void> {
    const idleMs = this.options.idleMs ?? 5_000;
    for (const vm of await this.registry.list().catch(() => [])) {
      if (this.abort.signal.aborted) return;
      const state = await stat(join(vm.Path, 'state.json')).catch(() => undefined);
      if (!state) continue;
      const mark = `${state.mtimeMs}:${state.size}`;
      if (this.done.get(vm.Path) === mark || Date.now() - state.mtimeMs < idleMs) continue;
      if (this.options.uploads?.busy(idleMs)) return;
      try {
        if (await this.keep(vm.Path)) this.done.set(vm.Path, mark);
      } catch (error) {
        if (this.abort.signal.aborted) return;
        // Gave way to a cycle: the next quiet tick starts again from the state then.
        if (error instanceof UploadBeganError) return;
        log.warn('keeping the hash manifests of a replica failed; tried again later', { path: vm.Path, error: (error as Error).message });
      }
    }
  }

  /**
   * Brings every kept manifest of the VM up to date; true when all are, or wait for a seal. A few changed
   * blocks are hashed at once; many (the manifest is new, or a layer was merged into the base) in slices.
   * Many changed blocks while the top layer is still being written wait for its seal: hashing them now would
   * be repeated after every cycle until then, as the whole top layer counts as changed.
   */
  async keep(vmDir: string): Promise<boolean> {
    const signal = this.signal();
    const todo = await this.locked(vmDir, 'keep hash manifests', async (storage) => {
      const status = await storage.status();
      if (!status.position) return [];
      const now = { position: status.position.toString(), referencePoint: status.referencePoint };
      const work: Work[] = [];
      for (const disk of status.disks) {
        const preferred: ManifestKind = { blockSize: this.options.blockSizeFor(disk.virtualSize), algorithm: this.options.algorithm ?? DEFAULT_HASH_ALGORITHM };
        const kinds = [preferred, ...(await keptKinds(storage.root, disk.diskId)).filter((k) => k.blockSize !== preferred.blockSize || k.algorithm !== preferred.algorithm)];
        for (const kind of kinds) {
          const { blockSize } = kind;
          const target = { diskId: disk.diskId, virtualSize: disk.virtualSize, kind };
          const kept = await loadKept(storage.root, disk.diskId, kind);
          const plan = kept && (await planUpdate(storage, kept, now));
          if (!kept || !plan) {
            work.push(target);
            continue;
          }
          if (plan.blocks <= this.sliceBlocks(blockSize)) await bringUpToDate(storage, kept, now, { parallelism: 1, signal });
          else if (await topIsEmpty(storage, disk.diskId)) work.push({ ...target, from: { kept: { meta: { ...kept.meta, ...now, chain: plan.chain }, manifest: kept.manifest }, runs: plan.runs } });
        }
      }
      return work;
    });
    let complete = true;
    for (const work of todo) complete = (await this.computeInSlices(vmDir, work)) && complete;
    return complete;
  }

  /** Aborted when the keeper closes or, with an UploadActivity, when the next upload begins. */
  private signal(): AbortSignal {
    const uploads = this.options.uploads;
    return uploads ? AbortSignal.any([this.abort.signal, uploads.untilNextUpload()]) : this.abort.signal;
  }

  /** Resolves once no upload ran for `idleMs` (at once without an UploadActivity); rejects when the keeper closes. */
  private async quiet(): Promise<void> {
    const idleMs = this.options.idleMs ?? 5_000;
    while (this.options.uploads?.busy(idleMs)) {
      throwIfAborted(this.abort.signal);
      await sleep(Math.min(idleMs, 250));
    }
    throwIfAborted(this.abort.signal);
  }

  /**
   * Runs one step of hashing once uploads are quiet; a step stopped because an upload began is run again
   * from its start at the next quiet moment (what it hashed is written over), so the work done before it stays.
   */
  private async givingWay<T>(step: (signal: AbortSignal) => Promise<T>): Promise<T> {
    for (;;) {
      await this.quiet();
      try {
        return await step(this.signal());
      } catch (error) {
        if (!(error instanceof UploadBeganError) || this.abort.signal.aborted) throw error;
        log.verbose('hashing gave way to a log upload; it goes on when uploads are quiet');
      }
    }
  }

  private sliceBlocks(blockSize: number): number {
    return Math.max(1, Math.floor((this.options.sliceBytes ?? 256 * 1024 * 1024) / blockSize));
  }

  /** Hashes the work's blocks (all of them for a new manifest) a slice at a time, then brings the result up to date. */
  private async computeInSlices(vmDir: string, work: Work): Promise<boolean> {
    const { diskId, virtualSize, kind } = work;
    const { blockSize } = kind;
    const started = Date.now();
    const count = blockCountOf(virtualSize, blockSize);
    const sliceBlocks = this.sliceBlocks(blockSize);
    let kept: KeptManifest | undefined = work.from?.kept;
    for (const slice of slices(work.from?.runs ?? [[0, count]], sliceBlocks)) {
      const sliced = await this.givingWay((signal) => this.locked(vmDir, 'keep hash manifests', async (storage) => {
        const status = await storage.status();
        const disk = status.disks.find((d) => d.diskId === diskId);
        if (!status.position || disk?.virtualSize !== virtualSize) return false;
        // The chain and position at the start: what is written from now on lies in its top layer or newer ones.
        kept ??= {
          meta: { format: 1, diskId, blockSize, position: status.position.toString(), referencePoint: status.referencePoint, chain: await chainIdentity(storage, diskId) },
          manifest: emptyManifest(virtualSize, kind),
        };
        const latest = await storage.openLatest(diskId);
        try {
          await rehashBlocks(latest, kept.manifest, slice, { parallelism: 1, signal });
        } finally {
          await latest.close();
        }
        return true;
      }));
      if (!sliced) return false;
      await yieldToOthers();
    }
    if (!kept) return true;
    const final = kept;
    const saved = await this.givingWay((signal) => this.locked(vmDir, 'keep hash manifests', async (storage) => {
      const status = await storage.status();
      if (!status.position) return undefined;
      return bringUpToDate(storage, final, { position: status.position.toString(), referencePoint: status.referencePoint }, { parallelism: 1, signal, maxBlocks: sliceBlocks, storeUnchanged: true });
    }));
    if (!saved) {
      log.verbose('the content changed too much while its hash manifest was computed; computed again later', { path: vmDir, diskId, blockSize, algorithm: kind.algorithm });
      return false;
    }
    log.info('hash manifest kept', { path: vmDir, diskId, blockSize, algorithm: kind.algorithm, ms: Date.now() - started });
    return true;
  }
}

/** Block runs in groups of at most `size` blocks (a run longer than that is cut). */
function* slices(runs: ReadonlyArray<readonly [number, number]>, size: number): Generator<Array<[number, number]>> {
  let group: Array<[number, number]> = [];
  let blocks = 0;
  for (const [first, end] of runs) {
    for (let at = first; at < end; ) {
      const take = Math.min(end - at, size - blocks);
      group.push([at, at + take]);
      blocks += take;
      at += take;
      if (blocks === size) {
        yield group;
        group = [];
        blocks = 0;
      }
    }
  }
  if (group.length > 0) yield group;
}
