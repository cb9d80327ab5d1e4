/**
 * Types of the addon's `hyperv` functions (native/src/binding/hyperv_binding.cc) and of the fakes they
 * accept. Without fakes, every call runs on the thread pool against root\virtualization\v2 and
 * virtdisk.dll (ERR_NOT_SUPPORTED off Windows); with fakes, the same C++ workflow runs synchronously
 * against them — how the Hyper-V logic is tested on Linux.
 */
import { binding, type NativeBinding } from '../../native/binding.js';

/** A WMI property or parameter value as the fakes and the addon exchange it. */
export type WmiValue = null | boolean | number | string | string[] | number[];

export interface WmiObjectData {
  /** __PATH; empty for method out-parameters. */
  path: string;
  className?: string;
  properties: Record<string, WmiValue>;
}

/** Stands in for IWbemServices on root\virtualization\v2. Throw `{ hresult }` to report a WBEM_E_* error. */
export interface WmiFake {
  query(wql: string): WmiObjectData[];
  getObject(path: string): WmiObjectData;
  execMethod(path: string, method: string, params: Record<string, WmiValue>): WmiObjectData;
  embedInstance(classOrPath: string, properties: Record<string, WmiValue>): string;
}

export interface ClockFake {
  now(): number;
  sleep(ms: number): void;
}

/** Stands in for virtdisk.dll + ReadFile/WriteFile; `status` is the Win32 error the real call returns. */
export interface VirtDiskFake {
  open(path: string, readOnly: boolean): { status: number; handle?: number };
  attach(handle: number, readOnly: boolean): number | { status: number };
  geometry(handle: number): { status: number; virtualSize?: number; blockSize?: number; sectorSize?: number; physicalSectorSize?: number };
  read(handle: number, offset: number, length: number): { status: number; data?: Uint8Array };
  write(handle: number, offset: number, data: Buffer): { status: number; written?: number };
  close(handle: number): void;
  systemText?(error: number): string;
}

export interface HyperVFakes {
  wmi?: WmiFake;
  clock?: ClockFake;
  virtdisk?: VirtDiskFake;
  onWarning?(message: string): void;
}

export interface JobTimeouts {
  /** How long one Hyper-V job may run (default 10 minutes). */
  jobTimeoutMs?: number;
  /** Interval between job polls (default 500 ms). */
  pollIntervalMs?: number;
}

export type RawConsistency = 'application' | 'crash';

export interface RawVmSummary {
  id: string;
  name: string;
  state: 'running' | 'off' | 'saved' | 'paused' | 'starting' | 'stopping' | 'saving' | 'checkpointing' | 'other';
  enabledState: number;
}

export interface RawDisk {
  instanceId: string;
  /** InstanceID without the owner prefix: the same for a VM, its checkpoints and its exported copy. */
  deviceKey: string;
  path: string;
  virtualSize?: number;
  logicalSectorSize?: number;
}

export interface RawNetworkAdapter {
  name: string;
  instanceId: string;
  macAddress: string;
  staticMac: boolean;
  switchPath: string;
  connected: boolean;
}

export interface RawVmInfo extends RawVmSummary {
  generation: 1 | 2;
  configurationVersion: string;
  rctSupported: boolean;
  changeTracking: 'rct' | 'checkpoint';
  changeTrackingNote?: string;
  processors: number;
  memoryMB: number;
  dynamicMemory: boolean;
  networkAdapters: RawNetworkAdapter[];
  disks: RawDisk[];
}

export interface RawCheckpoint {
  vmId: string;
  snapshotPath: string;
  snapshotId: string;
  kind: 'recovery' | 'standard';
  requestedConsistency: RawConsistency;
  consistency: RawConsistency;
  fellBack: boolean;
  fallbackReason?: string;
  frozenDisks: RawDisk[];
}

export interface RawReferencePoint {
  path: string;
  instanceId: string;
  vmId: string;
  consistency: RawConsistency;
  virtualDiskIds: string[];
  rctIds: string[];
}

export interface RawCommitResult {
  referencePoint: RawReferencePoint;
  previousDestroyed: boolean;
  warning?: string;
}

export interface RawRctMatch {
  rctId: string | null;
  rule: 'device-key' | 'tracking-guid' | 'none';
  reason?: string;
}

export interface RawDiskHandle {
  id: number;
  path: string;
  virtualSize: number;
  blockSize: number;
  sectorSize: number;
  physicalSectorSize: number;
}

export interface RawGuestNetwork {
  macAddress: string;
  dhcp: boolean;
  ipAddresses: string[];
  subnets: string[];
  gateways: string[];
  dnsServers: string[];
}

export interface RawRealizeOptions extends JobTimeouts {
  definitionFile: string;
  snapshotFolder?: string;
  generateNewId?: boolean;
  newName?: string;
  disconnectNetwork?: boolean;
  disks: Array<{ deviceKey: string; path: string }>;
}

export interface HyperVNativeApi {
  listVms(fakes?: HyperVFakes): Promise<RawVmSummary[]>;
  describeVm(args: { vmId: string } & JobTimeouts, fakes?: HyperVFakes): Promise<RawVmInfo>;
  createRecoveryCheckpoint(args: { vmId: string; consistency: RawConsistency } & JobTimeouts, fakes?: HyperVFakes): Promise<RawCheckpoint>;
  commitReferencePoint(
    args: { vmId: string; snapshotPath: string; previousReferencePoint?: string } & JobTimeouts,
    fakes?: HyperVFakes,
  ): Promise<RawCommitResult>;
  discardCheckpoint(args: { snapshotPath: string } & JobTimeouts, fakes?: HyperVFakes): Promise<void>;
  listReferencePoints(args: { vmId: string }, fakes?: HyperVFakes): Promise<RawReferencePoint[]>;
  destroyReferencePoint(args: { path: string } & JobTimeouts, fakes?: HyperVFakes): Promise<void>;
  /** ExportSystemDefinition without disks: of a checkpoint, or (no snapshotPath) of the VM without its checkpoints. */
  exportConfiguration(args: { vmId: string; snapshotPath?: string; directory: string } & JobTimeouts, fakes?: HyperVFakes): Promise<void>;
  realizeReplicaVm(args: RawRealizeOptions, fakes?: HyperVFakes): Promise<RawVmSummary>;
  setVmState(args: { vmId: string; state: 'running' | 'off' | 'shutdown' } & JobTimeouts, fakes?: HyperVFakes): Promise<void>;
  destroyVm(args: { vmId: string } & JobTimeouts, fakes?: HyperVFakes): Promise<void>;
  setGuestNetwork(args: { vmId: string; adapters: RawGuestNetwork[] } & JobTimeouts, fakes?: HyperVFakes): Promise<void>;
  /** Points drives (by device key) at other files of the same size; the VM off and without checkpoints. */
  setVmDisks(args: { vmId: string; disks: Array<{ deviceKey: string; path: string }> } & JobTimeouts, fakes?: HyperVFakes): Promise<void>;
  createDifferencingDisk(args: { path: string; parentPath: string } & JobTimeouts, fakes?: HyperVFakes): Promise<void>;
  matchRctIds(
    previous: { instanceId?: string; virtualDiskIds: string[]; rctIds: string[] },
    disks: Array<{ instanceId: string; currentRctId?: string }>,
  ): RawRctMatch[];
  openDisk(args: { path: string; readOnly: boolean }, fakes?: HyperVFakes): Promise<RawDiskHandle>;
  readDisk(id: number, offset: number, buffer: Uint8Array): Promise<void>;
  writeDisk(id: number, offset: number, data: Uint8Array): Promise<void>;
  closeDisk(id: number): void;
  /** Connects to the Service Control Manager as `name`; `onStop` runs when the SCM asks to stop. */
  serviceStart(name: string, onStop: () => void): Promise<void>;
  /** Reports SERVICE_STOPPED with a Win32 exit code (0 = clean). */
  serviceStopped(exitCode: number): void;
  /** level: 0 error, 1 warning, 2 information. */
  reportEvent(source: string, level: 0 | 1 | 2, eventId: number, message: string): void;
}

export interface HyperVBinding extends NativeBinding {
  hyperv: HyperVNativeApi;
}

export function hypervBinding(): HyperVNativeApi {
  return (binding() as HyperVBinding).hyperv;
}
