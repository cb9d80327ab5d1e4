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
/**
 * A definition is small; anything larger is not one. The bound covers the optional HostConfiguration
 * (at most MAX_HOST_CONFIGURATION_CHARS of compressed files) plus 256 KiB for everything else.
 */
export const MAX_HOST_CONFIGURATION_CHARS = 6 * 1024 * 1024;
export const MAX_REPLICA_VM_BYTES = MAX_HOST_CONFIGURATION_CHARS + 2 * 1024 * 1024;
/** Files of one exported configuration, and the largest one once decompressed (a .vmgs is 4 MiB). */
export const MAX_HOST_CONFIGURATION_FILES = 16;
export const MAX_HOST_CONFIGURATION_FILE_BYTES = 64 * 1024 * 1024;

/** One file of the primary hypervisor's exported VM configuration (docs/replication-protocol.md). */
export interface ReplicaVmHostFile {
  /** Relative, '/'-separated, e.g. "Virtual Machines/<VMID>.vmcx"; no "..", no drive, no leading '/'. */
  Path: string;
  /** Bytes once decompressed. */
  Size: number;
  /** SHA-256 (hex, lower case) of the decompressed bytes. */
  Sha256: string;
  /** gzip of the file, base64. */
  GzipBase64: string;
}

/** The hypervisor's own VM definition, which the replica realises the VM from (Hyper-V: ExportSystemDefinition). */
export interface ReplicaVmHostConfiguration {
  Format: 'hyperv-export';
  /** The VM the files describe (the .vmcx is named after it). */
  VMId: string;
  Files: ReplicaVmHostFile[];
}

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
  /** Hyper-V primaries: the exported VM configuration files; absent for the file host. */
  HostConfiguration?: ReplicaVmHostConfiguration;
  /**
   * 'Extended' when the sender is itself a replica server extending its replica (A→B→C, hyperv-replica.md
   * §5.7): the receiver's VM is then an ExtendedReplica. Absent (Simple) from a primary.
   */
  ReplicationRelationshipType?: 'Extended';
  /**
   * Sent by a primary whose planned failover (Start-VMFailover -Prepare, VM off) just delivered its last
   * cycle, at this position: the replica records LastReplicationType Planned, and a failover to that point
   * loses nothing. The replica refuses it unless it holds exactly that cycle.
   */
  PreparedForFailover?: { Generation: number; Sequence: number };
}

function fail(message: string): never {
  throw new ProtocolArgumentError(`invalid replica VM definition: ${message}`);
}

function integer(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) fail(`${what} must be an integer from ${min} to ${max}`);
  return value;
}

const HOST_PATH_PART = /^[A-Za-z0-9_{}][A-Za-z0-9 ._{}-]{0,127}$/;

/** Refuses any path that could leave the folder the replica writes the files into. */
export function validateHostConfigurationPath(path: unknown, what: string): string {
  if (typeof path !== 'string' || path.length === 0 || path.length > 240) fail(`${what} must be a relative path of 1 to 240 characters`);
  const parts = path.split('/');
  if (parts.some((part) => !HOST_PATH_PART.test(part) || part.endsWith('.') || part.endsWith(' '))) {
    fail(`${what} "${path}" must be '/'-separated names of letters, digits, space, '.', '_', '-', '{', '}' (no "..", drive or leading '/')`);
  }
  return path;
}

function hostConfiguration(value: unknown): ReplicaVmHostConfiguration {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('HostConfiguration must be an object');
  const v = value as Record<string, unknown>;
  if (v.Format !== 'hyperv-export') fail(`HostConfiguration.Format ${JSON.stringify(v.Format)} is not supported (this build reads "hyperv-export"); upgrade the replica server`);
  if (typeof v.VMId !== 'string') fail('HostConfiguration.VMId must be a GUID');
  if (!Array.isArray(v.Files) || v.Files.length === 0 || v.Files.length > MAX_HOST_CONFIGURATION_FILES) {
    fail(`HostConfiguration.Files must list 1 to ${MAX_HOST_CONFIGURATION_FILES} files`);
  }
  let chars = 0;
  const seen = new Set<string>();
  const files = v.Files.map((f: unknown, i): ReplicaVmHostFile => {
    const what = `HostConfiguration.Files[${i}]`;
    if (typeof f !== 'object' || f === null) fail(`${what} must be an object`);
    const file = f as Record<string, unknown>;
    const path = validateHostConfigurationPath(file.Path, `${what}.Path`);
    // Windows file names compare case-insensitively: two entries must never land in one file.
    if (seen.has(path.toLowerCase())) fail(`${what}.Path "${path}" is listed twice`);
    seen.add(path.toLowerCase());
    if (typeof file.Sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(file.Sha256)) fail(`${what}.Sha256 must be 64 hex digits`);
    if (typeof file.GzipBase64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(file.GzipBase64) || file.GzipBase64.length % 4 !== 0) {
      fail(`${what}.GzipBase64 must be base64`);
    }
    chars += file.GzipBase64.length;
    return {
      Path: path,
      Size: integer(file.Size, `${what}.Size`, 0, MAX_HOST_CONFIGURATION_FILE_BYTES),
      Sha256: file.Sha256.toLowerCase(),
      GzipBase64: file.GzipBase64,
    };
  });
  if (chars > MAX_HOST_CONFIGURATION_CHARS) fail(`HostConfiguration holds ${chars} characters of files, more than the ${MAX_HOST_CONFIGURATION_CHARS} allowed`);
  if (!files.some((f) => /\.vmcx$/i.test(f.Path))) fail('HostConfiguration.Files holds no .vmcx file');
  return { Format: 'hyperv-export', VMId: normalizeGuid(v.VMId, 'HostConfiguration.VMId'), Files: files };
}

function relationshipType(value: unknown): 'Extended' {
  if (value !== 'Extended') fail(`ReplicationRelationshipType must be Simple or Extended, got ${JSON.stringify(value)}`);
  return 'Extended';
}

function preparedPosition(value: unknown): { Generation: number; Sequence: number } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('PreparedForFailover must be an object {Generation, Sequence}');
  const v = value as Record<string, unknown>;
  return { Generation: integer(v.Generation, 'PreparedForFailover.Generation', 1, Number.MAX_SAFE_INTEGER), Sequence: integer(v.Sequence, 'PreparedForFailover.Sequence', 0, Number.MAX_SAFE_INTEGER) };
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
    ...(v.HostConfiguration === undefined ? {} : { HostConfiguration: hostConfiguration(v.HostConfiguration) }),
    ...(v.ReplicationRelationshipType === undefined || v.ReplicationRelationshipType === 'Simple' ? {} : { ReplicationRelationshipType: relationshipType(v.ReplicationRelationshipType) }),
    ...(v.PreparedForFailover === undefined ? {} : { PreparedForFailover: preparedPosition(v.PreparedForFailover) }),
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
