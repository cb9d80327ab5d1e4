/**
 * The Hyper-V host adapter: HostAdapter over the addon's `hyperv` functions (WMI root\virtualization\v2,
 * virtdisk Raw IO) and the RCT tracker. What Hyper-V does not remember for us — which reference point is
 * committed, which checkpoints are frozen, which VMs are replicas or test VMs — lives in one JSON file
 * per VM under <stateDir>/hyperv/, written atomically.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { join, win32 } from 'node:path';
import { logger } from '../../logging/logger.js';
import { ResyncRequiredError, type ChangeTracker } from '../../tracking/change-tracker.js';
import { createChangeTracker } from '../../tracking/factory.js';
import type { FakeVirtDisk } from '../../tracking/rct/fake-virtdisk.js';
import { RctTracker } from '../../tracking/rct/rct-tracker.js';
import type { DiskImage } from '../disk-image.js';
import { HostError } from '../host-error.js';
import type {
  CreateReferencePointOptions,
  CreateTestVmOptions,
  ExportedVmDefinition,
  FailoverNetworkSettings,
  HostAdapter,
  ReferencePoint,
  RegisterReplicaOptions,
  ReplicaDiskSource,
  StopOptions,
  UnregisterVmOptions,
  VmConfiguration,
  VmDescription,
  VmDisk,
  VmState,
  VmSummary,
} from '../host-adapter.js';
import { carryLayer, flattenedBase, pruneFolder } from '../disk-chain.js';
import { materialiseDefinition, packExportFolder } from './exported-definition.js';
import { hyperVPendingBytes } from './pending.js';
import { hypervBinding, type HyperVFakes, type JobTimeouts, type RawGuestNetwork, type RawVmInfo, type RawVmSummary } from './native.js';

const log = logger('hyperv');

export interface HyperVHostOptions {
  /** The host's state directory; the adapter keeps <stateDir>/hyperv/. */
  stateDir: string;
  timeouts?: JobTimeouts;
  /** Tests: run the native workflow against fakes instead of WMI and virtdisk. */
  fakes?: HyperVFakes;
  /**
   * The RCT id a frozen disk carries now (virtdisk CHANGE_TRACKING_STATE.MostRecentId); default: the
   * RCT tracker on the real virtdisk. Used as the tracking id of a frozen point until its commit gives
   * the reference point's own ids.
   */
  currentRctId?: (frozenPath: string) => Promise<string>;
  /** Tests: the RCT tracker queries this fake of virtdisk instead of the system's. */
  rctVirtdisk?: FakeVirtDisk;
}

interface FrozenPoint {
  id: string;
  snapshotPath: string;
  kind: 'recovery' | 'standard';
  createdAt: string;
  consistency: 'crash' | 'application';
  fellBack: boolean;
  disks: Array<{ diskId: string; deviceKey: string; frozenPath: string; trackingId: string; virtualSize: number; logicalSectorSize: 512 | 4096 }>;
}

interface CommittedPoint extends FrozenPoint {
  /** WMI path of the Msvm_VirtualSystemReferencePoint (recovery) or of the kept checkpoint (standard). */
  referencePointPath: string;
  referencePointId: string;
}

interface VmState_ {
  vmId: string;
  committed?: CommittedPoint;
  frozen: FrozenPoint[];
  isReplica?: boolean;
  testVm?: { sourceId: string; layers: string[] };
}

/** A dotted IPv4 subnet mask: ones, then zeros. */
function isSubnetMask(mask: string): boolean {
  if (!isIPv4(mask)) return false;
  const bits = mask.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const inverted = ~bits >>> 0;
  return (inverted & (inverted + 1)) === 0;
}

/**
 * Set-VMNetworkAdapterFailoverConfiguration's rules, checked before WMI sees them: each family's address
 * needs its mask or prefix length, and gateways and DNS servers belong to the family they are given for.
 * Returns the guest adapter settings: both families on one Msvm_GuestNetworkAdapterConfiguration, IPv4 first.
 */
export function guestNetworkOf(s: FailoverNetworkSettings, macAddress: string, adapterName: string): RawGuestNetwork {
  const bad = (message: string): never => {
    throw new HostError('ERR_INVALID_ARGUMENT', `failover TCP/IP settings of adapter '${adapterName}': ${message}`);
  };
  const family = (value: string | undefined, v6: boolean, what: string): string | undefined => {
    if (value === undefined || value === '') return undefined;
    if (v6 ? !isIPv6(value) || value === '::' : !isIPv4(value) || value === '0.0.0.0') bad(`${what} '${value}' is not an ${v6 ? 'IPv6' : 'IPv4'} address`);
    return value;
  };
  const ipv4 = family(s.ipv4Address, false, 'IPv4 address');
  const ipv6 = family(s.ipv6Address, true, 'IPv6 address');
  const gateways = [family(s.ipv4DefaultGateway, false, 'IPv4 default gateway'), family(s.ipv6DefaultGateway, true, 'IPv6 default gateway')];
  const dns = [
    family(s.ipv4PreferredDns, false, 'IPv4 preferred DNS server'),
    family(s.ipv4AlternateDns, false, 'IPv4 alternate DNS server'),
    family(s.ipv6PreferredDns, true, 'IPv6 preferred DNS server'),
    family(s.ipv6AlternateDns, true, 'IPv6 alternate DNS server'),
  ];
  const subnets: string[] = [];
  if (ipv4) {
    if (!s.ipv4SubnetMask) bad(`IPv4 address ${ipv4} needs its subnet mask (-IPv4SubnetMask)`);
    if (!isSubnetMask(s.ipv4SubnetMask!)) bad(`'${s.ipv4SubnetMask}' is not an IPv4 subnet mask like 255.255.255.0`);
    subnets.push(s.ipv4SubnetMask!);
  } else if (s.ipv4SubnetMask || gateways[0] || dns[0] || dns[1]) {
    bad('an IPv4 subnet mask, gateway or DNS server needs an IPv4 address (-IPv4Address)');
  }
  if (ipv6) {
    const prefix = s.ipv6SubnetPrefixLength;
    if (prefix === undefined) bad(`IPv6 address ${ipv6} needs its subnet prefix length (-IPv6SubnetPrefixLength)`);
    if (!Number.isInteger(prefix) || prefix! < 1 || prefix! > 128) bad(`IPv6 subnet prefix length ${String(prefix)} must be a whole number from 1 to 128`);
    // Hyper-V carries an IPv6 subnet as its prefix length in decimal.
    subnets.push(String(prefix));
  } else if (s.ipv6SubnetPrefixLength !== undefined || gateways[1] || dns[2] || dns[3]) {
    bad('an IPv6 prefix length, gateway or DNS server needs an IPv6 address (-IPv6Address)');
  }
  const ipAddresses = [ipv4, ipv6].filter((x): x is string => x !== undefined);
  const dhcp = ipAddresses.length === 0;
  return {
    macAddress,
    dhcp,
    ipAddresses,
    subnets,
    gateways: gateways.filter((x): x is string => x !== undefined),
    dnsServers: dns.filter((x): x is string => x !== undefined),
  };
}

function deviceKey(instanceId: string): string {
  const up = instanceId.toUpperCase();
  return up.startsWith('MICROSOFT:') && up.includes('\\') ? up.slice(up.indexOf('\\') + 1) : up;
}

function sectorSize(value: number | undefined): 512 | 4096 {
  return value === 4096 ? 4096 : 512;
}

function vmState(raw: RawVmSummary['state']): VmState {
  return raw === 'saving' || raw === 'checkpointing' ? 'other' : raw;
}

class HyperVDiskImage implements DiskImage {
  constructor(
    private readonly id: number,
    readonly virtualSize: number,
    readonly logicalSectorSize: 512 | 4096,
  ) {}
  async read(offset: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    await hypervBinding().readDisk(this.id, offset, buffer);
    return buffer;
  }
  async close(): Promise<void> {
    hypervBinding().closeDisk(this.id);
  }
}

export class HyperVHost implements HostAdapter {
  readonly kind = 'hyperv' as const;
  private readonly dir: string;

  constructor(private readonly options: HyperVHostOptions) {
    this.dir = join(options.stateDir, 'hyperv');
  }

  // ---- state ---------------------------------------------------------------------------------------

  private statePath(vmId: string): string {
    return join(this.dir, `${vmId.toLowerCase()}.json`);
  }

  private load(vmId: string): VmState_ {
    try {
      return JSON.parse(readFileSync(this.statePath(vmId), 'utf8')) as VmState_;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { vmId, frozen: [] };
      throw error;
    }
  }

  private save(state: VmState_): void {
    mkdirSync(this.dir, { recursive: true });
    const path = this.statePath(state.vmId);
    writeFileSync(`${path}.tmp`, JSON.stringify(state, null, 2));
    renameSync(`${path}.tmp`, path);
  }

  private get api() {
    return hypervBinding();
  }

  private get t(): JobTimeouts {
    return this.options.timeouts ?? {};
  }

  // ---- inventory -------------------------------------------------------------------------------------

  private summary(raw: RawVmSummary): VmSummary {
    const state = this.load(raw.id);
    return { id: raw.id, name: raw.name, state: vmState(raw.state), isReplica: state.isReplica === true, isTestVm: state.testVm !== undefined };
  }

  async listVms(): Promise<VmSummary[]> {
    return (await this.api.listVms(this.options.fakes)).map((vm) => this.summary(vm));
  }

  private async resolve(nameOrId: string): Promise<RawVmSummary> {
    const vms = await this.api.listVms(this.options.fakes);
    const byId = vms.find((vm) => vm.id.toLowerCase() === nameOrId.toLowerCase());
    if (byId) return byId;
    const byName = vms.filter((vm) => vm.name === nameOrId);
    if (byName.length === 1) return byName[0]!;
    if (byName.length > 1) {
      throw new HostError('ERR_AMBIGUOUS', `${byName.length} VMs are named '${nameOrId}' (${byName.map((v) => v.id).join(', ')}); give the VM id`);
    }
    throw new HostError('ERR_NOT_FOUND', `no VM named '${nameOrId}' on this host (Get-VM lists them)`);
  }

  private async describe(nameOrId: string): Promise<RawVmInfo> {
    const vm = await this.resolve(nameOrId);
    return this.api.describeVm({ vmId: vm.id, ...this.t }, this.options.fakes);
  }

  async getVm(nameOrId: string): Promise<VmDescription> {
    const info = await this.describe(nameOrId);
    const state = this.load(info.id);
    const disks: VmDisk[] = info.disks.map((d) => ({
      id: d.instanceId,
      basePath: d.path,
      currentPath: d.path,
      virtualSize: d.virtualSize ?? 0,
      logicalSectorSize: sectorSize(d.logicalSectorSize),
      location: d.deviceKey,
    }));
    const configuration: VmConfiguration = {
      id: info.id,
      name: info.name,
      generation: info.generation,
      processorCount: info.processors,
      memoryBytes: info.memoryMB * 1024 * 1024,
      networkAdapters: info.networkAdapters.map((n) => ({
        id: n.instanceId,
        name: n.name,
        ...(n.connected ? { switchName: n.switchPath } : {}),
        macAddress: n.macAddress,
      })),
      disks: disks.map(({ id, virtualSize, logicalSectorSize, location }) => ({ id, virtualSize, logicalSectorSize, ...(location ? { location } : {}) })),
      ...(info.changeTrackingNote ? { notes: info.changeTrackingNote } : {}),
    };
    if (info.changeTrackingNote) log.warn(info.changeTrackingNote, { vm: info.name });
    return {
      ...this.summary(info),
      configuration,
      disks,
      referencePoints: [...(state.committed ? [this.toPoint(info.id, state.committed, 'committed')] : []), ...state.frozen.map((p) => this.toPoint(info.id, p, 'frozen'))],
    };
  }

  async startVm(nameOrId: string): Promise<VmSummary> {
    const vm = await this.resolve(nameOrId);
    await this.api.setVmState({ vmId: vm.id, state: 'running', ...this.t }, this.options.fakes);
    return this.summary(await this.resolve(vm.id));
  }

  async stopVm(nameOrId: string, options: StopOptions = {}): Promise<VmSummary> {
    const vm = await this.resolve(nameOrId);
    await this.api.setVmState({ vmId: vm.id, state: options.force ? 'off' : 'shutdown', ...this.t }, this.options.fakes);
    return this.summary(await this.resolve(vm.id));
  }

  // ---- reference points ------------------------------------------------------------------------------

  private toPoint(vmId: string, p: FrozenPoint, state: 'frozen' | 'committed'): ReferencePoint {
    return {
      id: p.id,
      vmId,
      createdAt: p.createdAt,
      consistency: p.consistency,
      tracker: p.kind === 'recovery' ? 'rct' : 'checkpoint',
      disks: p.disks.map((d) => ({ diskId: d.diskId, trackingId: d.trackingId, frozenPath: d.frozenPath })),
      state,
    };
  }

  private async rctIdOf(frozenPath: string): Promise<string> {
    if (this.options.currentRctId) return this.options.currentRctId(frozenPath);
    const tracker = await RctTracker.open({ path: frozenPath, ...(this.options.rctVirtdisk ? { virtdisk: this.options.rctVirtdisk } : {}) });
    try {
      return await tracker.currentId();
    } finally {
      await tracker.close();
    }
  }

  async createReferencePoint(nameOrId: string, options: CreateReferencePointOptions = {}): Promise<ReferencePoint> {
    const info = await this.describe(nameOrId);
    const cp = await this.api.createRecoveryCheckpoint(
      { vmId: info.id, consistency: options.consistency ?? 'crash', ...this.t },
      this.options.fakes,
    );
    if (cp.fellBack) log.warn(`recovery point of '${info.name}' is crash-consistent: ${cp.fallbackReason ?? ''}`, { vm: info.name });
    try {
      const disks: FrozenPoint['disks'] = [];
      for (const frozen of cp.frozenDisks) {
        const vmDisk = info.disks.find((d) => d.deviceKey === frozen.deviceKey);
        if (!vmDisk) throw new HostError('ERR_INVALID_STATE', `checkpoint disk ${frozen.deviceKey} of '${info.name}' matches no disk of the VM; was a disk added meanwhile?`);
        const trackingId = cp.kind === 'recovery' ? await this.rctIdOf(frozen.path) : cp.snapshotId;
        disks.push({
          diskId: vmDisk.instanceId,
          deviceKey: frozen.deviceKey,
          frozenPath: frozen.path,
          trackingId,
          virtualSize: vmDisk.virtualSize ?? 0,
          logicalSectorSize: sectorSize(vmDisk.logicalSectorSize),
        });
      }
      const point: FrozenPoint = {
        id: cp.snapshotId,
        snapshotPath: cp.snapshotPath,
        kind: cp.kind,
        createdAt: new Date().toISOString(),
        consistency: cp.consistency,
        fellBack: cp.fellBack,
        disks,
      };
      const state = this.load(info.id);
      state.frozen.push(point);
      this.save(state);
      return this.toPoint(info.id, point, 'frozen');
    } catch (error) {
      // Nothing may hold on to a checkpoint the engine never heard of.
      await this.api.discardCheckpoint({ snapshotPath: cp.snapshotPath, ...this.t }, this.options.fakes).catch((cleanup: Error) =>
        log.error(`could not destroy checkpoint ${cp.snapshotPath}: ${cleanup.message}`),
      );
      throw error;
    }
  }

  private frozen(state: VmState_, pointId: string, vmName: string): FrozenPoint {
    const point = state.frozen.find((p) => p.id === pointId) ?? (state.committed?.id === pointId ? state.committed : undefined);
    if (!point) throw new HostError('ERR_NOT_FOUND', `VM '${vmName}' has no reference point '${pointId}'`);
    return point;
  }

  async commitReferencePoint(nameOrId: string, pointId: string): Promise<ReferencePoint> {
    const vm = await this.resolve(nameOrId);
    const state = this.load(vm.id);
    if (state.committed?.id === pointId) return this.toPoint(vm.id, state.committed, 'committed');
    const point = this.frozen(state, pointId, vm.name);
    const result = await this.api.commitReferencePoint(
      {
        vmId: vm.id,
        snapshotPath: point.snapshotPath,
        ...(state.committed ? { previousReferencePoint: state.committed.referencePointPath } : {}),
        ...this.t,
      },
      this.options.fakes,
    );
    if (result.warning) log.warn(result.warning, { vm: vm.name });
    const disks = point.disks.map((d) => ({ ...d }));
    if (point.kind === 'recovery') {
      // The reference point's own RCT ids are what the next cycle queries changes since.
      const matches = this.api.matchRctIds(result.referencePoint, disks.map((d) => ({ instanceId: d.diskId, currentRctId: d.trackingId })));
      matches.forEach((m, i) => {
        if (m.rctId) {
          disks[i]!.trackingId = m.rctId;
        } else {
          log.warn(`disk ${disks[i]!.diskId} of '${vm.name}': ${m.reason ?? 'no RCT id'}; the next cycle resynchronises it`, { vm: vm.name });
          disks[i]!.trackingId = '';
        }
      });
    }
    const committed: CommittedPoint = {
      ...point,
      disks,
      referencePointPath: result.referencePoint.path,
      referencePointId: result.referencePoint.instanceId,
    };
    // Older frozen points were taken before this one; Hyper-V folded them away with the checkpoint.
    state.frozen = state.frozen.filter((p) => p.id !== pointId && p.createdAt > point.createdAt);
    state.committed = committed;
    this.save(state);
    return this.toPoint(vm.id, committed, 'committed');
  }

  async discardReferencePoint(nameOrId: string, pointId: string): Promise<void> {
    const vm = await this.resolve(nameOrId);
    const state = this.load(vm.id);
    const point = state.frozen.find((p) => p.id === pointId);
    if (!point) throw new HostError('ERR_NOT_FOUND', `VM '${vm.name}' has no frozen reference point '${pointId}'`);
    await this.api.discardCheckpoint({ snapshotPath: point.snapshotPath, ...this.t }, this.options.fakes);
    state.frozen = state.frozen.filter((p) => p.id !== pointId);
    this.save(state);
  }

  private frozenDisk(state: VmState_, pointId: string, diskId: string, vmName: string) {
    const point = this.frozen(state, pointId, vmName);
    const disk = point.disks.find((d) => d.diskId === diskId);
    if (!disk) throw new HostError('ERR_NOT_FOUND', `reference point '${pointId}' of '${vmName}' has no disk '${diskId}'`);
    return { point, disk };
  }

  async openDiskAt(nameOrId: string, pointId: string, diskId: string): Promise<DiskImage> {
    const vm = await this.resolve(nameOrId);
    const { disk } = this.frozenDisk(this.load(vm.id), pointId, diskId, vm.name);
    const handle = await this.api.openDisk({ path: disk.frozenPath, readOnly: true }, this.options.fakes);
    return new HyperVDiskImage(handle.id, handle.virtualSize, sectorSize(handle.sectorSize));
  }

  async changeTracker(nameOrId: string, pointId: string, diskId: string): Promise<ChangeTracker> {
    const vm = await this.resolve(nameOrId);
    const state = this.load(vm.id);
    const { point, disk } = this.frozenDisk(state, pointId, diskId, vm.name);
    if (point.kind === 'recovery') {
      return RctTracker.open({ path: disk.frozenPath, ...(this.options.rctVirtdisk ? { virtdisk: this.options.rctVirtdisk } : {}) });
    }
    // Configuration < 6.2: the frozen top of a standard checkpoint is the .avhdx Hyper-V created when the
    // committed checkpoint was taken; its BAT holds exactly the writes since then.
    const base = state.committed;
    const layers =
      base && base.id !== point.id && /\.avhdx$/i.test(disk.frozenPath) ? [{ path: disk.frozenPath, since: base.id }] : [];
    return createChangeTracker({
      kind: 'checkpoint',
      pointId: point.id,
      virtualSize: disk.virtualSize,
      logicalSectorSize: disk.logicalSectorSize,
      layers: async () => layers,
    });
  }

  async pendingBytes(nameOrId: string, diskId: string, since: string | undefined): Promise<number> {
    const info = await this.describe(nameOrId);
    const disk = info.disks.find((d) => d.instanceId === diskId);
    if (!disk) throw new HostError('ERR_NOT_FOUND', `VM '${info.name}' has no disk '${diskId}'`);
    const committed = this.load(info.id).committed;
    const base = committed?.disks.find((d) => d.diskId === diskId);
    // Nothing acknowledged (or tracking lost): the initial replication's size, as Hyper-V counts it.
    if (since === undefined) return statSync(disk.path).size;
    if (!committed || !base) {
      throw new ResyncRequiredError(`VM '${info.name}' has no committed reference point for disk '${diskId}'; resynchronise it`, 'unknown-id');
    }
    return hyperVPendingBytes({
      livePath: disk.path,
      basePath: base.frozenPath,
      tracker: committed.kind === 'recovery' ? 'rct' : 'checkpoint',
      since,
      committedId: committed.id,
      ...(this.options.rctVirtdisk ? { virtdisk: this.options.rctVirtdisk } : {}),
    });
  }

  // ---- replica side ----------------------------------------------------------------------------------

  private replicaDisks(configuration: VmConfiguration, disks: ReplicaDiskSource[]) {
    return disks.map((d) => {
      if (!configuration.disks.some((c) => c.id === d.diskId)) {
        throw new HostError('ERR_INVALID_ARGUMENT', `disk '${d.diskId}' is not a disk of '${configuration.name}'`);
      }
      return { deviceKey: deviceKey(d.diskId), path: d.path };
    });
  }

  /**
   * Writes the primary's exported configuration into `folder` and returns its .vmcx; the files stay there
   * because Hyper-V keeps an imported VM's configuration where it was imported from.
   */
  private async definitionFileIn(configuration: VmConfiguration, folder: string): Promise<string> {
    const definition = configuration.exportedDefinition;
    if (!definition) {
      throw new HostError(
        'ERR_VM_CONFIG_INVALID',
        `the replica configuration of '${configuration.name}' carries no Hyper-V definition (.vmcx): its primary is not a Hyper-V host, or an hvreplica without configuration shipping sent it; resynchronise it from a Hyper-V primary (hvreplica initial start there) so that the primary exports it`,
      );
    }
    return materialiseDefinition(definition, folder, configuration.name);
  }

  async exportDefinition(nameOrId: string): Promise<ExportedVmDefinition> {
    const vm = await this.resolve(nameOrId);
    // Under the state directory: Hyper-V (vmms, running as SYSTEM) writes the export there, and the
    // folder is gone again once its files are read.
    const dir = join(this.dir, 'export', `${vm.id.toLowerCase()}-${randomUUID()}`);
    mkdirSync(dir, { recursive: true });
    try {
      await this.api.exportConfiguration({ vmId: vm.id, directory: dir, ...this.t }, this.options.fakes);
      return await packExportFolder(dir, vm.id, vm.name);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async registerReplicaVm(configuration: VmConfiguration, disks: ReplicaDiskSource[], options: RegisterReplicaOptions): Promise<VmSummary> {
    // A replica keeps the primary's id, as Hyper-V Replica's do — except when the primary lives on this
    // very host (replication to localhost), where Hyper-V cannot hold two VMs with one id.
    const sameHost = (await this.api.listVms(this.options.fakes)).some((vm) => vm.id.toLowerCase() === configuration.id.toLowerCase());
    if (sameHost) log.warn(`'${configuration.name}' (${configuration.id}) is on this host too; its replica gets a new VM id`);
    const definitionFile = await this.definitionFileIn(configuration, options.location);
    const raw = await this.api.realizeReplicaVm(
      {
        definitionFile,
        snapshotFolder: options.location,
        generateNewId: sameHost,
        ...(options.name ? { newName: options.name } : {}),
        disks: this.replicaDisks(configuration, disks),
        ...this.t,
      },
      this.options.fakes,
    );
    const state = this.load(raw.id);
    state.isReplica = options.ordinary !== true;
    this.save(state);
    return this.summary(raw);
  }

  async createTestVm(configuration: VmConfiguration, disks: ReplicaDiskSource[], options: CreateTestVmOptions = {}): Promise<VmSummary> {
    // Hyper-V paths are Windows paths whatever platform the tests run on.
    const location = options.location ?? win32.join(win32.dirname(disks[0]?.path ?? configuration.name), 'Test');
    const definitionFile = await this.definitionFileIn(configuration, location);
    const layers: Array<{ diskId: string; path: string }> = [];
    try {
      for (const d of disks) {
        const layer = join(location, `${deviceKey(d.diskId).replace(/[\\:]/g, '_')}.avhdx`);
        await this.api.createDifferencingDisk({ path: layer, parentPath: d.path, ...this.t }, this.options.fakes);
        layers.push({ diskId: d.diskId, path: layer });
      }
      const raw = await this.api.realizeReplicaVm(
        {
          definitionFile,
          snapshotFolder: location,
          generateNewId: true,
          newName: options.name ?? `${configuration.name} - Test`,
          disconnectNetwork: true,
          disks: this.replicaDisks(configuration, layers),
          ...this.t,
        },
        this.options.fakes,
      );
      const state = this.load(raw.id);
      state.testVm = { sourceId: configuration.id, layers: layers.map((l) => l.path) };
      this.save(state);
      return this.summary(raw);
    } catch (error) {
      for (const l of layers) rmSync(l.path, { force: true });
      throw error;
    }
  }

  async removeTestVm(nameOrId: string): Promise<void> {
    const vm = await this.resolve(nameOrId);
    const state = this.load(vm.id);
    if (!state.testVm) throw new HostError('ERR_INVALID_STATE', `VM '${vm.name}' is not a test VM hvreplica created; it is left alone`);
    if (vm.state !== 'off') await this.api.setVmState({ vmId: vm.id, state: 'off', ...this.t }, this.options.fakes);
    await this.api.destroyVm({ vmId: vm.id, ...this.t }, this.options.fakes);
    for (const layer of state.testVm.layers) rmSync(layer, { force: true });
    rmSync(this.statePath(vm.id), { force: true });
  }

  async setFailoverNetwork(nameOrId: string, settings: FailoverNetworkSettings[]): Promise<VmSummary> {
    const info = await this.describe(nameOrId);
    const adapters: RawGuestNetwork[] = settings.map((s) => {
      const nic = info.networkAdapters.find((n) => n.instanceId === s.adapterId);
      if (!nic) throw new HostError('ERR_NOT_FOUND', `VM '${info.name}' has no network adapter '${s.adapterId}'`);
      return guestNetworkOf(s, nic.macAddress, nic.name);
    });
    await this.api.setGuestNetwork({ vmId: info.id, adapters, ...this.t }, this.options.fakes);
    return this.summary(info);
  }

  async unregisterVm(nameOrId: string, options: UnregisterVmOptions = {}): Promise<void> {
    const vm = await this.resolve(nameOrId);
    if (vm.state !== 'off') {
      if (!options.force) throw new HostError('ERR_INVALID_STATE', `VM '${vm.name}' is ${vm.state}; stop it first or use --force`);
      await this.api.setVmState({ vmId: vm.id, state: 'off', ...this.t }, this.options.fakes);
    }
    // DestroySystem is Remove-VM: the configuration goes, every virtual hard disk file stays.
    await this.api.destroyVm({ vmId: vm.id, ...this.t }, this.options.fakes);
    rmSync(this.statePath(vm.id), { force: true });
    log.info('unregistered VM; its disk files are kept', { vm: vm.name, id: vm.id });
  }

  async replaceVmDisks(nameOrId: string, disks: ReplicaDiskSource[]): Promise<VmDescription> {
    const info = await this.describe(nameOrId);
    const state = this.load(info.id);
    if (state.frozen.length > 0) {
      throw new HostError('ERR_INVALID_STATE', `VM '${info.name}' has ${state.frozen.length} frozen reference point(s); commit or discard them before replacing its disks`);
    }
    const wanted = disks.map((d) => {
      const disk = info.disks.find((x) => x.instanceId === d.diskId);
      if (!disk) throw new HostError('ERR_NOT_FOUND', `VM '${info.name}' has no disk '${d.diskId}' (it has: ${info.disks.map((x) => x.instanceId).join(', ')})`);
      return { deviceKey: disk.deviceKey, path: d.path };
    });
    await this.api.setVmDisks({ vmId: info.id, disks: wanted, ...this.t }, this.options.fakes);
    if (state.committed) {
      // The committed reference point tracked the old files; the next cycle starts over from a full copy.
      delete state.committed;
      this.save(state);
      log.warn(`the disks of '${info.name}' were replaced; its next replication cycle is a full copy`, { vm: info.name });
    }
    return this.getVm(info.id);
  }

  async vmHoldsDiskFiles(nameOrId: string): Promise<boolean> {
    // Running, paused or saved, Hyper-V keeps the chain open (a saved VM resumes on it) and refuses drive
    // changes; only an off VM's files are free.
    return vmState((await this.resolve(nameOrId)).state) !== 'off';
  }

  async rebaseVmDisks(nameOrId: string, bases: ReplicaDiskSource[], folder: string): Promise<VmDescription> {
    const info = await this.describe(nameOrId);
    // Hyper-V holds a running VM's disks open and changes drives only while it is off; off, nothing writes
    // into the layer being copied.
    if (vmState(info.state) !== 'off') {
      throw new HostError('ERR_INVALID_STATE', `VM '${info.name}' is ${vmState(info.state)}; turn it off (Stop-VM) before its disks are moved off the recovery points, then run the step again`);
    }
    const state = this.load(info.id);
    if (state.frozen.length > 0) {
      throw new HostError('ERR_INVALID_STATE', `VM '${info.name}' has ${state.frozen.length} frozen reference point(s); commit or discard them before re-basing its disks`);
    }
    for (const base of bases) {
      if (!info.disks.some((d) => d.instanceId === base.diskId)) throw new HostError('ERR_NOT_FOUND', `VM '${info.name}' has no disk '${base.diskId}' (it has: ${info.disks.map((d) => d.instanceId).join(', ')})`);
    }
    const kept: string[] = [];
    const moved: Array<{ deviceKey: string; path: string }> = [];
    for (const disk of info.disks) {
      const base = bases.find((b) => b.diskId === disk.instanceId);
      if (!base) throw new HostError('ERR_INVALID_ARGUMENT', `no chain given to re-base disk '${disk.instanceId}' of VM '${info.name}' on`);
      const key = disk.deviceKey.replace(/[\\:]/g, '_');
      const flattened = await flattenedBase(folder, key, base.path);
      const layer = await carryLayer(folder, key, flattened, [disk.path]);
      kept.push(flattened, layer);
      moved.push({ deviceKey: disk.deviceKey, path: layer });
    }
    // Attaching through Hyper-V (not by editing files) also grants the VM's account access to the new chain.
    await this.api.setVmDisks({ vmId: info.id, disks: moved, ...this.t }, this.options.fakes);
    if (state.committed) {
      delete state.committed;
      this.save(state);
    }
    await pruneFolder(folder, kept);
    log.info('moved the VM\'s disks onto standalone chains', { vm: info.name, folder });
    return this.getVm(info.id);
  }
}
