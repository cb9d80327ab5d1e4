/**
 * vm.json, the file host's VM configuration: what Hyper-V keeps in a .vmcx, plus the disk layer chains
 * and the reference points. Validated on every read so a hand-edited or damaged file is refused with a
 * message naming the field.
 */
import { HostError } from '../host-error.js';
import type { Consistency, FailoverNetworkSettings, NetworkAdapter } from '../host-adapter.js';

export const VM_CONFIG_FILE = 'vm.json';
export const VM_CONFIG_SCHEMA = 1;

export interface LayerRecord {
  /** File name (in the VM folder) of a differencing layer. */
  file: string;
  /** The reference point this layer's writes start from. */
  since: string;
}

export interface DiskRecord {
  id: string;
  /** The base VHDX: a file name in the VM folder or an absolute path (replica and test VMs). */
  file: string;
  virtualSize: number;
  logicalSectorSize: 512 | 4096;
  /** Layers above the base, bottom first; the last one is where the VM writes now. */
  layers: LayerRecord[];
}

export interface PointRecord {
  id: string;
  createdAt: string;
  consistency: Consistency;
  state: 'frozen' | 'committed';
  /** Per disk, the file at the top of the frozen image (a layer file or the base). */
  disks: Array<{ diskId: string; frozenFile: string }>;
}

export interface VmRecord {
  schemaVersion: typeof VM_CONFIG_SCHEMA;
  id: string;
  name: string;
  generation: 1 | 2;
  processorCount: number;
  memoryBytes: number;
  state: 'running' | 'off';
  isReplica: boolean;
  isTestVm: boolean;
  networkAdapters: NetworkAdapter[];
  disks: DiskRecord[];
  referencePoints: PointRecord[];
  /** Bumped whenever a disk's current layer changes, so writers notice they must reopen. */
  layerEpoch: number;
  notes?: string;
}

function fail(origin: string, what: string): never {
  throw new HostError('ERR_VM_CONFIG_INVALID', `${origin}: ${what}; fix or restore the file`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function parseVmRecord(text: string, origin: string): VmRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    fail(origin, `not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(raw)) fail(origin, 'not a JSON object');
  if (raw.schemaVersion !== VM_CONFIG_SCHEMA) fail(origin, `schemaVersion ${String(raw.schemaVersion)} is not ${VM_CONFIG_SCHEMA}`);
  for (const key of ['id', 'name'] as const) if (!isString(raw[key])) fail(origin, `"${key}" must be a non-empty string`);
  if (raw.generation !== 1 && raw.generation !== 2) fail(origin, '"generation" must be 1 or 2');
  if (!isCount(raw.processorCount) || raw.processorCount < 1) fail(origin, '"processorCount" must be a positive integer');
  if (!isCount(raw.memoryBytes)) fail(origin, '"memoryBytes" must be a byte count');
  if (raw.state !== 'running' && raw.state !== 'off') fail(origin, '"state" must be "running" or "off"');
  if (!isCount(raw.layerEpoch)) fail(origin, '"layerEpoch" must be a non-negative integer');
  if (!Array.isArray(raw.networkAdapters) || !Array.isArray(raw.disks) || !Array.isArray(raw.referencePoints)) {
    fail(origin, '"networkAdapters", "disks" and "referencePoints" must be arrays');
  }
  raw.disks.forEach((disk: unknown, i: number) => {
    if (!isObject(disk) || !isString(disk.id) || !isString(disk.file) || !isCount(disk.virtualSize)) {
      fail(origin, `disks[${i}] needs "id", "file" and "virtualSize"`);
    }
    if (disk.logicalSectorSize !== 512 && disk.logicalSectorSize !== 4096) fail(origin, `disks[${i}].logicalSectorSize must be 512 or 4096`);
    if (!Array.isArray(disk.layers) || !disk.layers.every((l: unknown) => isObject(l) && isString(l.file) && isString(l.since))) {
      fail(origin, `disks[${i}].layers must be a list of {file, since}`);
    }
  });
  raw.referencePoints.forEach((point: unknown, i: number) => {
    if (!isObject(point) || !isString(point.id) || !isString(point.createdAt) || !Array.isArray(point.disks)) {
      fail(origin, `referencePoints[${i}] needs "id", "createdAt" and "disks"`);
    }
    if (point.state !== 'frozen' && point.state !== 'committed') fail(origin, `referencePoints[${i}].state must be "frozen" or "committed"`);
  });
  return raw as unknown as VmRecord;
}

export function serializeVmRecord(record: VmRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

/**
 * Names a person can type and a file system accepts everywhere (Hyper-V allows more; we stay portable).
 * Single inner spaces are allowed so that a test VM carries Hyper-V's name "<VM> - Test"; a name never
 * ends in a space or a dot, which Windows drops from folder names.
 */
export const VM_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]| (?! ))*$/;

export function validateVmName(name: string): void {
  if (name.length > 63 || !VM_NAME.test(name) || /[ .]$/.test(name)) {
    throw new HostError(
      'ERR_INVALID_ARGUMENT',
      `VM name '${name}' is not valid: use 1-63 letters, digits, '.', '_', '-' or single spaces, starting with a letter or digit and not ending in a space or '.'`,
    );
  }
}

export function validateFailoverSettings(settings: FailoverNetworkSettings[], adapters: NetworkAdapter[]): void {
  for (const s of settings) {
    if (!adapters.some((a) => a.id === s.adapterId)) {
      throw new HostError('ERR_NOT_FOUND', `the VM has no network adapter '${s.adapterId}' (it has: ${adapters.map((a) => a.id).join(', ') || 'none'})`);
    }
  }
}
