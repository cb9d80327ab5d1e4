/**
 * The replica VM definition: the one message besides logs that crosses from primary to replica. It is
 * sent before every full copy (initial replication, resynchronisation) and written beside the logs of
 * an export to removable media, so the replica can create its storage (one base disk per replicated
 * disk, with the primary's geometry) and keep the VM's configuration for failover. Parsing is strict:
 * the body comes from the network, so every field is checked and unknown shapes are refused.
 */
import { ProtocolArgumentError } from './errors.js';
import { normalizeGuid } from './guid.js';

export const REPLICA_VM_FORMAT_VERSION = 1;
/** A definition is small; anything larger is not one. */
export const MAX_REPLICA_VM_BYTES = 256 * 1024;

export interface ReplicaVmDisk {
  /** The GUID the disk's logs carry. */
  DiskId: string;
  VirtualSize: number;
  LogicalSectorSize: 512 | 4096;
}

export interface ReplicaVmDefinition {
  FormatVersion: 1;
  VMId: string;
  VMName: string;
  Disks: ReplicaVmDisk[];
  /** Recovery points kept besides the latest (the relationship's RecoveryHistory). */
  RecoveryHistory: number;
  VSSSnapshotFrequencyHour: number;
  ReplicationFrequencySec: number;
  /** The host's VM configuration (processors, memory, adapters, disks), opaque to the replica server. */
  Configuration: Record<string, unknown>;
}

function fail(message: string): never {
  throw new ProtocolArgumentError(`invalid replica VM definition: ${message}`);
}

function integer(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) fail(`${what} must be an integer from ${min} to ${max}`);
  return value;
}

/** Validates a parsed JSON value; returns a normalised copy (lower-case GUIDs). */
export function parseReplicaVmDefinition(value: unknown): ReplicaVmDefinition {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('expected a JSON object');
  const v = value as Record<string, unknown>;
  if (v.FormatVersion !== REPLICA_VM_FORMAT_VERSION) fail(`FormatVersion ${String(v.FormatVersion)} is not supported (this build reads ${REPLICA_VM_FORMAT_VERSION}); upgrade the replica server`);
  if (typeof v.VMId !== 'string') fail('VMId must be a GUID');
  if (typeof v.VMName !== 'string' || v.VMName.length === 0 || v.VMName.length > 256) fail('VMName must be 1 to 256 characters');
  if (!Array.isArray(v.Disks) || v.Disks.length === 0 || v.Disks.length > 256) fail('Disks must list 1 to 256 disks');
  const disks = v.Disks.map((d: unknown, i): ReplicaVmDisk => {
    if (typeof d !== 'object' || d === null) fail(`Disks[${i}] must be an object`);
    const disk = d as Record<string, unknown>;
    if (typeof disk.DiskId !== 'string') fail(`Disks[${i}].DiskId must be a GUID`);
    const sector = disk.LogicalSectorSize;
    if (sector !== 512 && sector !== 4096) fail(`Disks[${i}].LogicalSectorSize must be 512 or 4096`);
    return {
      DiskId: normalizeGuid(disk.DiskId, `Disks[${i}].DiskId`),
      VirtualSize: integer(disk.VirtualSize, `Disks[${i}].VirtualSize`, 1, 64 * 1024 ** 4),
      LogicalSectorSize: sector,
    };
  });
  if (new Set(disks.map((d) => d.DiskId)).size !== disks.length) fail('disk ids must be unique');
  if (typeof v.Configuration !== 'object' || v.Configuration === null || Array.isArray(v.Configuration)) fail('Configuration must be an object');
  return {
    FormatVersion: REPLICA_VM_FORMAT_VERSION,
    VMId: normalizeGuid(v.VMId, 'VMId'),
    VMName: v.VMName,
    Disks: disks,
    RecoveryHistory: integer(v.RecoveryHistory, 'RecoveryHistory', 0, 1000),
    VSSSnapshotFrequencyHour: integer(v.VSSSnapshotFrequencyHour, 'VSSSnapshotFrequencyHour', 0, 12),
    ReplicationFrequencySec: integer(v.ReplicationFrequencySec, 'ReplicationFrequencySec', 1, 86400),
    Configuration: v.Configuration as Record<string, unknown>,
  };
}

/** Parses the message from its bytes (network body or export file). */
export function decodeReplicaVmDefinition(bytes: Buffer): ReplicaVmDefinition {
  if (bytes.length > MAX_REPLICA_VM_BYTES) fail(`it is ${bytes.length} bytes, more than the ${MAX_REPLICA_VM_BYTES} allowed`);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    fail('it is not JSON');
  }
  return parseReplicaVmDefinition(value);
}
