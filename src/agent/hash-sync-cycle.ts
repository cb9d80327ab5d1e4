/**
 * A relationship's cycle by hash comparison (src/agent/hash-sync.ts), as both a resync and an initial
 * replication from a copy on the replica (use-backup.ts) run it: the same replica connection settings
 * from the relationship, and the same report shape, so the two stay alike as either changes.
 */
import { hashSyncVm, type HashSyncVmResult } from './hash-sync.js';
import { primaryStateFile, spoolDir } from './paths.js';
import type { CycleReport, ReplicateOptions } from './replicate-vm.js';
import { AdaptiveCodecPolicy, noneCodec } from '../protocol/index.js';
import type { ReplicationRelationship } from '../relationship/index.js';
import type { HostCredential } from '../security/index.js';
import type { ReplicaEndpoint } from '../transport/index.js';

export interface HashSyncCycleOptions extends Pick<ReplicateOptions, 'stateDir' | 'host' | 'signal' | 'onProgress' | 'retry'> {
  /** Preferred block size of the comparison (default 64 KiB, hash-sync.ts HASH_SYNC_BLOCK_SIZE). */
  blockSize?: number;
}

/** Compares the VM's disks with its replica by hash and sends what differs, with the relationship's settings. */
export async function hashSyncRelationship(
  options: HashSyncCycleOptions,
  vmId: string,
  rel: ReplicationRelationship,
  link: { endpoint: ReplicaEndpoint; credential: HostCredential },
): Promise<HashSyncVmResult> {
  return hashSyncVm({
    host: options.host,
    vm: vmId,
    stateFile: primaryStateFile(options.stateDir, vmId),
    replica: {
      endpoint: link.endpoint,
      credential: link.credential,
      spoolDir: spoolDir(options.stateDir),
      retry: options.retry ?? { attempts: 5, backoffMs: (n) => 500 * 2 ** (n - 1) },
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    },
    codecPolicy: () => (rel.CompressionEnabled ? new AdaptiveCodecPolicy() : new AdaptiveCodecPolicy(noneCodec)),
    ...(options.blockSize ? { blockSize: options.blockSize } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/** The cycle report of a hash-compare cycle that ran from `start` to `end` (always crash-consistent). */
export function hashSyncReport(kind: 'initial' | 'resync', result: HashSyncVmResult, start: Date, end: Date): CycleReport {
  return {
    VMName: result.vmName,
    VMId: result.vmId,
    Kind: kind,
    Generation: result.generation,
    Sequence: result.sequence,
    ReferencePoint: result.referencePoint,
    Consistency: 'crash',
    LogBytes: result.logBytes,
    ChangedBytes: result.changedBytes,
    ComparedBytes: result.comparedBytes,
    StartTime: start.toISOString(),
    EndTime: end.toISOString(),
    LatencySec: (end.getTime() - start.getTime()) / 1000,
  };
}
