/**
 * A test double of HostAdapter that keeps disks in memory, for testing the Replicator's cycle logic
 * (ordering, failure handling, union of changes) in isolation. It follows the HostAdapter contract for
 * reference points: a point freezes a copy of every disk; discarding one hands its changes to the next
 * point; committing one forgets the older ones. The real file host is exercised by the wiring test.
 */
import { randomUUID } from 'node:crypto';
import type { DiskImage } from '../../src/host/disk-image.js';
import type { CreateReferencePointOptions, HostAdapter, ReferencePoint, VmDescription, VmSummary } from '../../src/host/host-adapter.js';
import { ResyncRequiredError, type ChangedExtent, type ChangeTracker } from '../../src/tracking/change-tracker.js';

const GRANULE = 64 * 1024;

interface MemoryDisk {
  id: string;
  data: Buffer;
  /** Granules ever written (the image's allocation). */
  allocated: Set<number>;
}

interface MemoryPoint {
  point: ReferencePoint;
  frozen: Map<string, { data: Buffer; allocated: Set<number> }>;
  /** Granules written between the previous point and this one, per disk. */
  dirty: Map<string, Set<number>>;
}

export class MemoryHost implements HostAdapter {
  readonly kind = 'file' as const;
  readonly vmId = randomUUID();
  readonly disks: MemoryDisk[];
  private live = new Map<string, Set<number>>();
  points: MemoryPoint[] = [];
  /** Failure injection: the next N calls of a method throw. */
  failNext: Partial<Record<'commitReferencePoint' | 'openDiskAt', number>> = {};
  forgetHistory = false;
  /** While set, commits wait for it: a commit that takes its time. */
  commitGate: Promise<void> | undefined;
  /** Commits begun (some may still wait at the gate). */
  commitCalls = 0;

  constructor(diskSizes: number[]) {
    this.disks = diskSizes.map((size, i) => ({ id: `disk${i}`, data: Buffer.alloc(size), allocated: new Set() }));
    for (const d of this.disks) this.live.set(d.id, new Set());
  }

  /** A guest write into the VM's current state. */
  write(diskIndex: number, offset: number, data: Buffer): void {
    const disk = this.disks[diskIndex]!;
    data.copy(disk.data, offset);
    for (let g = Math.floor(offset / GRANULE); g * GRANULE < offset + data.length; g += 1) {
      disk.allocated.add(g);
      this.live.get(disk.id)!.add(g);
    }
  }

  private summary(): VmSummary {
    return { id: this.vmId, name: 'mem-vm', state: 'running', isReplica: false, isTestVm: false };
  }

  async listVms(): Promise<VmSummary[]> {
    return [this.summary()];
  }

  async getVm(): Promise<VmDescription> {
    return {
      ...this.summary(),
      configuration: { id: this.vmId, name: 'mem-vm', generation: 2, processorCount: 1, memoryBytes: 1 << 30, networkAdapters: [], disks: [] },
      disks: this.disks.map((d) => ({ id: d.id, basePath: `${d.id}.vhdx`, currentPath: `${d.id}.vhdx`, virtualSize: d.data.length, logicalSectorSize: 512 })),
      referencePoints: this.points.map((p) => ({ ...p.point })),
    };
  }

  async startVm(): Promise<VmSummary> {
    return this.summary();
  }

  async stopVm(): Promise<VmSummary> {
    return this.summary();
  }

  async createReferencePoint(_vm: string, options: CreateReferencePointOptions = {}): Promise<ReferencePoint> {
    const id = randomUUID();
    const point: ReferencePoint = {
      id,
      vmId: this.vmId,
      createdAt: new Date().toISOString(),
      consistency: options.consistency ?? 'crash',
      tracker: 'checkpoint',
      disks: this.disks.map((d) => ({ diskId: d.id, trackingId: id, frozenPath: `${d.id}_${id}.avhdx` })),
      state: 'frozen',
    };
    const frozen = new Map(this.disks.map((d) => [d.id, { data: Buffer.from(d.data), allocated: new Set(d.allocated) }]));
    this.points.push({ point, frozen, dirty: this.live });
    this.live = new Map(this.disks.map((d) => [d.id, new Set<number>()]));
    return { ...point };
  }

  async commitReferencePoint(_vm: string, pointId: string): Promise<ReferencePoint> {
    this.commitCalls += 1;
    await this.commitGate;
    if ((this.failNext.commitReferencePoint ?? 0) > 0) {
      this.failNext.commitReferencePoint! -= 1;
      throw Object.assign(new Error('injected commit failure'), { code: 'ERR_IO' });
    }
    const index = this.points.findIndex((p) => p.point.id === pointId);
    if (index < 0) throw Object.assign(new Error(`no point ${pointId}`), { code: 'ERR_NOT_FOUND' });
    this.points = this.points.slice(index);
    this.points[0]!.point.state = 'committed';
    return { ...this.points[0]!.point };
  }

  async discardReferencePoint(_vm: string, pointId: string): Promise<void> {
    const index = this.points.findIndex((p) => p.point.id === pointId);
    if (index < 0) return;
    const [gone] = this.points.splice(index, 1);
    const heir = this.points[index]?.dirty ?? this.live;
    for (const [disk, granules] of gone!.dirty) for (const g of granules) heir.get(disk)!.add(g);
  }

  async openDiskAt(_vm: string, pointId: string, diskId: string): Promise<DiskImage> {
    if ((this.failNext.openDiskAt ?? 0) > 0) {
      this.failNext.openDiskAt! -= 1;
      throw Object.assign(new Error('injected read failure'), { code: 'ERR_IO' });
    }
    const frozen = this.points.find((p) => p.point.id === pointId)?.frozen.get(diskId);
    if (!frozen) throw Object.assign(new Error(`no point ${pointId}`), { code: 'ERR_NOT_FOUND' });
    return {
      virtualSize: frozen.data.length,
      logicalSectorSize: 512,
      read: async (offset, length) => Buffer.from(frozen.data.subarray(offset, offset + length)),
      allocation: async () => {
        const out: Array<{ offset: number; length: number; state: 'data' | 'absent' }> = [];
        for (let g = 0; g * GRANULE < frozen.data.length; g += 1) {
          const state = frozen.allocated.has(g) ? 'data' : 'absent';
          const last = out.at(-1);
          if (last && last.state === state) last.length += GRANULE;
          else out.push({ offset: g * GRANULE, length: GRANULE, state });
        }
        return out;
      },
      close: async () => undefined,
    };
  }

  async changeTracker(_vm: string, pointId: string, diskId: string): Promise<ChangeTracker> {
    const host = this;
    const bound = this.points.findIndex((p) => p.point.id === pointId);
    const size = this.disks.find((d) => d.id === diskId)!.data.length;
    return {
      kind: 'checkpoint',
      granularity: GRANULE,
      virtualSize: size,
      enable: async () => pointId,
      currentId: async () => pointId,
      async *changesSince(since: string): AsyncIterable<ChangedExtent> {
        const from = host.points.findIndex((p) => p.point.id === since);
        if (from < 0 || from >= bound || host.forgetHistory) throw new ResyncRequiredError(`tracking id ${since} is unknown`, 'unknown-id');
        const granules = new Set<number>();
        for (const p of host.points.slice(from + 1, bound + 1)) for (const g of p.dirty.get(diskId)!) granules.add(g);
        const sorted = [...granules].sort((a, b) => a - b);
        for (let i = 0; i < sorted.length; ) {
          let j = i;
          while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j += 1;
          yield { offset: sorted[i]! * GRANULE, length: (sorted[j]! - sorted[i]! + 1) * GRANULE, kind: 'unknown' };
          i = j + 1;
        }
      },
      close: async () => undefined,
    };
  }

  async pendingBytes(_vm: string, diskId: string, since: string | undefined): Promise<number> {
    const disk = this.disks.find((d) => d.id === diskId)!;
    if (since === undefined) return disk.allocated.size * GRANULE;
    const from = this.points.findIndex((p) => p.point.id === since);
    if (from < 0 || this.forgetHistory) throw new ResyncRequiredError(`tracking id ${since} is unknown`, 'unknown-id');
    const granules = new Set<number>(this.live.get(diskId));
    for (const p of this.points.slice(from + 1)) for (const g of p.dirty.get(diskId)!) granules.add(g);
    return granules.size * GRANULE;
  }

  frozenContent(pointId: string, diskIndex: number): Buffer {
    return this.points.find((p) => p.point.id === pointId)!.frozen.get(this.disks[diskIndex]!.id)!.data;
  }

  async registerReplicaVm(): Promise<VmSummary> {
    throw Object.assign(new Error('not part of this test double'), { code: 'ERR_NOT_SUPPORTED' });
  }

  async createTestVm(): Promise<VmSummary> {
    throw Object.assign(new Error('not part of this test double'), { code: 'ERR_NOT_SUPPORTED' });
  }

  async removeTestVm(): Promise<void> {
    throw Object.assign(new Error('not part of this test double'), { code: 'ERR_NOT_SUPPORTED' });
  }

  async setFailoverNetwork(): Promise<VmSummary> {
    throw Object.assign(new Error('not part of this test double'), { code: 'ERR_NOT_SUPPORTED' });
  }

  /** Like the file host: the configuration is the whole definition. */
  async exportDefinition(): Promise<undefined> {
    return undefined;
  }

  async unregisterVm(): Promise<void> {
    throw Object.assign(new Error('not part of this test double'), { code: 'ERR_NOT_SUPPORTED' });
  }

  async replaceVmDisks(): Promise<VmDescription> {
    throw Object.assign(new Error('not part of this test double'), { code: 'ERR_NOT_SUPPORTED' });
  }

  async rebaseVmDisks(): Promise<VmDescription> {
    throw Object.assign(new Error('not part of this test double'), { code: 'ERR_NOT_SUPPORTED' });
  }

  async vmHoldsDiskFiles(): Promise<boolean> {
    throw Object.assign(new Error('not part of this test double'), { code: 'ERR_NOT_SUPPORTED' });
  }
}
