/**
 * What the replication engine needs from a hypervisor, as one interface with one implementation per
 * host kind (`file` here, `hyperv` in ./hyperv). The engine never touches VM files or WMI directly.
 *
 * Reference points follow Hyper-V's model: creating one freezes every disk of the VM (the VM keeps
 * writing into a new layer), the frozen images stay readable until the point is committed (it becomes
 * the base for the next delta, older points go away) or discarded (as if never taken; the next cycle then
 * covers the union of changes). Every failure is an Error with a stable `code` (NativeError or HostError).
 */
import type { ChangeTracker, TrackerKind, TrackingId } from '../tracking/change-tracker.js';
import type { DiskImage } from './disk-image.js';

export type HostKind = 'file' | 'hyperv';

/** Hyper-V's EnabledState vocabulary, reduced to what replication and failover act on. */
export type VmState = 'running' | 'off' | 'saved' | 'paused' | 'starting' | 'stopping' | 'other';

export type Consistency = 'crash' | 'application';

export interface NetworkAdapter {
  /** Stable id of the adapter within its VM. */
  id: string;
  name: string;
  /** Virtual switch the adapter connects to; undefined when disconnected. */
  switchName?: string;
  macAddress?: string;
  /** Test-failover and failover settings of this adapter (Set-VMNetworkAdapterFailoverConfiguration). */
  failover?: FailoverNetworkSettings;
}

/** Per adapter; mirrors Set-VMNetworkAdapterFailoverConfiguration. */
export interface FailoverNetworkSettings {
  adapterId: string;
  /** Switch the test VM's adapter connects to (Hyper-V: -VirtualSwitchTestFailover). */
  testSwitchName?: string;
  ipv4Address?: string;
  ipv4SubnetMask?: string;
  ipv4DefaultGateway?: string;
  ipv4PreferredDns?: string;
  ipv4AlternateDns?: string;
  ipv6Address?: string;
  ipv6SubnetPrefixLength?: number;
  ipv6DefaultGateway?: string;
  ipv6PreferredDns?: string;
  ipv6AlternateDns?: string;
}

/** A disk as the VM configuration knows it; `currentPath` is the layer the VM writes now. */
export interface VmDisk {
  /** Stable id within the VM (file host: the base file's name without extension; Hyper-V: RASD InstanceID). */
  id: string;
  /** The base VHDX (bottom of the chain). */
  basePath: string;
  /** The file the VM writes into now (the base, or the newest .avhdx of a reference point). */
  currentPath: string;
  virtualSize: number;
  logicalSectorSize: 512 | 4096;
  /** Controller location, informative (e.g. "scsi:0:1"). */
  location?: string;
}

/** Everything needed to re-create the VM on another host (the replica's configuration). */
export interface VmConfiguration {
  id: string;
  name: string;
  /** Hyper-V VM generation (BIOS = 1, UEFI = 2). */
  generation: 1 | 2;
  processorCount: number;
  memoryBytes: number;
  networkAdapters: NetworkAdapter[];
  /** Disks in controller order; paths on the source host, informative on another host. */
  disks: Array<Pick<VmDisk, 'id' | 'virtualSize' | 'logicalSectorSize' | 'location'>>;
  notes?: string;
  /**
   * The hypervisor's own definition of the VM, exported on the primary (`exportDefinition`) and shipped
   * with the replica VM definition; a Hyper-V replica realises the VM from it with its own disks.
   */
  exportedDefinition?: ExportedVmDefinition;
}

/** One file of an exported definition, compressed so that a mostly empty guest-state file stays small. */
export interface ExportedDefinitionFile {
  /** Relative to the export folder, '/'-separated, e.g. "Virtual Machines/<VMID>.vmcx". */
  path: string;
  /** Bytes once decompressed. */
  size: number;
  /** SHA-256 (hex) of the decompressed bytes. */
  sha256: string;
  /** gzip of the file, base64. */
  gzipBase64: string;
}

export interface ExportedVmDefinition {
  /** 'hyperv-export': the files of Msvm_VirtualSystemManagementService.ExportSystemDefinition, no disks. */
  format: 'hyperv-export';
  /** The VM id the files describe (the .vmcx is named after it). */
  vmId: string;
  files: ExportedDefinitionFile[];
}

export interface VmSummary {
  id: string;
  name: string;
  state: VmState;
  /** True for VMs this host created as replicas or test VMs (never replicated outward by default). */
  isReplica: boolean;
  isTestVm: boolean;
}

export interface VmDescription extends VmSummary {
  configuration: VmConfiguration;
  disks: VmDisk[];
  /** Reference points not yet committed or discarded, oldest first. */
  referencePoints: ReferencePoint[];
}

export interface ReferencePointDisk {
  diskId: string;
  /** The tracking id of this disk at the point (checkpoint: layer id; RCT: the RCT id). */
  trackingId: string;
  /** Informative: the file that holds the frozen image's top layer. */
  frozenPath: string;
}

export interface ReferencePoint {
  /** Unique per VM; the file host uses the GUID of the layers it created. */
  id: string;
  vmId: string;
  /** ISO 8601 UTC. */
  createdAt: string;
  consistency: Consistency;
  /** Which tracker lists changes up to this point for each disk. */
  tracker: TrackerKind;
  disks: ReferencePointDisk[];
  state: 'frozen' | 'committed';
}

export interface CreateReferencePointOptions {
  /** Default 'crash'. 'application' needs in-guest VSS (Hyper-V only); the file host refuses it. */
  consistency?: Consistency;
}

export interface StopOptions {
  /** Turn off instead of shutting down the guest. */
  force?: boolean;
}

export interface RegisterReplicaOptions {
  /** Folder that will hold the replica VM (its configuration and disks). */
  location: string;
  /** Name on this host; default configuration.name. */
  name?: string;
  /**
   * Register it as an ordinary VM, not a replica (isReplica false): Remove-VMReplication on the replica keeps
   * its VM that way, free to be replicated, started and changed like any other.
   */
  ordinary?: boolean;
}

export interface ReplicaDiskSource {
  diskId: string;
  /** The replica disk's file (top of its chain) that the VM should use. */
  path: string;
}

export interface UnregisterVmOptions {
  /** Turn a running VM off first instead of refusing. */
  force?: boolean;
}

export interface CreateTestVmOptions {
  /** Default "<source name> - Test" (as Hyper-V names test VMs). */
  name?: string;
  /** Folder for the test VM's own differencing layers; default beside the source VM. */
  location?: string;
}

export interface HostAdapter {
  readonly kind: HostKind;

  listVms(): Promise<VmSummary[]>;
  /** By id or by exact name; ERR_NOT_FOUND when none, ERR_AMBIGUOUS when a name matches several. */
  getVm(nameOrId: string): Promise<VmDescription>;

  startVm(nameOrId: string): Promise<VmSummary>;
  stopVm(nameOrId: string, options?: StopOptions): Promise<VmSummary>;

  /** Freezes every disk of the VM; writes continue into new layers. */
  createReferencePoint(nameOrId: string, options?: CreateReferencePointOptions): Promise<ReferencePoint>;
  /**
   * Makes `pointId` the base of the next delta: every older point and its layers are folded away (file
   * host: the frozen layers are merged down). Idempotent for a point already committed.
   */
  commitReferencePoint(nameOrId: string, pointId: string): Promise<ReferencePoint>;
  /** Forgets a frozen point as if it had never been taken; its changes show up in the next point. */
  discardReferencePoint(nameOrId: string, pointId: string): Promise<void>;

  /** A read-only image of one disk exactly as it was at the point. Close it when done. */
  openDiskAt(nameOrId: string, pointId: string, diskId: string): Promise<DiskImage>;
  /**
   * The change tracker for one disk, bound to the image frozen at `pointId`: its currentId() is the
   * point's tracking id, and changesSince(older) lists what changed between an older point and this one.
   */
  changeTracker(nameOrId: string, pointId: string, diskId: string): Promise<ChangeTracker>;
  /**
   * Data at risk of one disk (PendingReplicationSize): bytes changed between the reference point whose
   * tracking id for this disk is `since` and this very moment — the writes the VM made after a frozen
   * point included — read from the change tracker without taking a reference point. `since` undefined
   * (nothing acknowledged yet, or tracking lost): every allocated byte, what a full copy sends. Counts
   * whole tracker units (its granularity), each once however often it was written. Throws
   * ResyncRequiredError when the tracker no longer knows `since`.
   */
  pendingBytes(nameOrId: string, diskId: string, since: TrackingId | undefined): Promise<number>;

  /**
   * The hypervisor's definition of the VM for its replica (Hyper-V: ExportSystemDefinition without disks
   * or checkpoints); undefined for hosts whose VmConfiguration is the whole definition (the file host).
   */
  exportDefinition(nameOrId: string): Promise<ExportedVmDefinition | undefined>;

  /** Creates (off) a replica VM from a configuration and its replicated disks. */
  registerReplicaVm(configuration: VmConfiguration, disks: ReplicaDiskSource[], options: RegisterReplicaOptions): Promise<VmSummary>;
  /** A VM over fresh differencing layers on the given disks; the disks themselves are never written. */
  createTestVm(configuration: VmConfiguration, disks: ReplicaDiskSource[], options?: CreateTestVmOptions): Promise<VmSummary>;
  /** Removes a test VM and its own layers (ERR_INVALID_STATE for a VM that is not a test VM). */
  removeTestVm(nameOrId: string): Promise<void>;
  setFailoverNetwork(nameOrId: string, settings: FailoverNetworkSettings[]): Promise<VmSummary>;
  /**
   * Removes the VM from the host but keeps every disk file it uses (Hyper-V: Remove-VM). A running VM is
   * refused (ERR_INVALID_STATE) unless `force` turns it off first; ERR_NOT_FOUND when there is none.
   */
  unregisterVm(nameOrId: string, options?: UnregisterVmOptions): Promise<void>;
  /**
   * Points the VM's drives at other disk files, by disk id (Complete-VMFailover moving a VM off the
   * replica's chain). The VM must be off and have no reference points (ERR_INVALID_STATE); every file
   * must exist and have the disk's virtual size (ERR_NOT_FOUND / ERR_INVALID_ARGUMENT); disks not named
   * keep their files; the files used before are left in place. Returns the VM as it is now.
   */
  replaceVmDisks(nameOrId: string, disks: ReplicaDiskSource[]): Promise<VmDescription>;
  /**
   * Complete-VMFailover's disk step: moves every disk of the VM off the chain its own layer sits on
   * (`bases`, by disk id: the recovery point's chain top, about to be deleted) onto standalone files in
   * `folder` — a copy of that chain plus a layer holding what the VM wrote since — so that it reads
   * exactly as before. Files in `folder` the VM no longer uses (its previous layers) are deleted. The file
   * host does this while the VM runs (under the VM lock); Hyper-V needs the VM off (ERR_INVALID_STATE),
   * which `vmHoldsDiskFiles` tells beforehand.
   * ERR_INVALID_STATE with frozen reference points; a committed one is forgotten (it tracked the old files:
   * the VM's next replication cycle starts over). ERR_INVALID_ARGUMENT when a disk has no base given.
   */
  rebaseVmDisks(nameOrId: string, bases: ReplicaDiskSource[], folder: string): Promise<VmDescription>;
  /**
   * True while the hypervisor holds the files of the VM's disk chains open so that no other process may
   * delete, re-parent or replace them, nor move the VM's drives (Hyper-V: any state but off — the top
   * layer is open exclusively, its parents read-only). rebaseVmDisks then refuses, and every file of those
   * chains must stay as it is. False when the host coordinates such changes itself (the file host, whose
   * VM lock lets rebaseVmDisks work while the VM runs). ERR_NOT_FOUND when there is no such VM.
   */
  vmHoldsDiskFiles(nameOrId: string): Promise<boolean>;
}
