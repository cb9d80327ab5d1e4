/**
 * Initial replication from a copy already on the replica (Start-VMInitialReplication -UseBackup): the
 * administrator put a copy of the VM's disks on the replica host (a restored backup, disks carried on
 * media) and registered it there with `hvreplica initial import --vm-name X --use-backup --path <folder>`.
 * The primary then asks the replica server to seed the VM's new replica from that copy (local I/O there),
 * compares by hash and sends only the blocks that differ, as the next cycle after the seed. From then on
 * the relationship replicates deltas as after any initial replication.
 */
import { loadPrimaryState } from '../engine/primary-state.js';
import { toWire as hostConfigurationToWire } from '../host/hyperv/exported-definition.js';
import { logger } from '../logging/logger.js';
import { RelationshipStore } from '../relationship/index.js';
import { ReplicaConfigStore } from '../replica/index.js';
import { ReplicaClient } from '../transport/index.js';
import { withCycleLock } from './cycle-lock.js';
import { AgentError } from './errors.js';
import { hashSyncRelationship, hashSyncReport } from './hash-sync-cycle.js';
import { cycleLockFile, primaryStateFile } from './paths.js';
import { afterFailure, afterSuccess } from './relationship-updates.js';
import { credentialOf, definitionOf, endpointOf, joinSignals, requireRelationship, type CycleReport, type ReplicateOptions } from './replicate-vm.js';

const log = logger('use-backup');

export interface FromBackupOptions extends Pick<ReplicateOptions, 'stateDir' | 'host' | 'vm' | 'signal' | 'onProgress' | 'retry' | 'clock'> {
  /** Preferred block size of the comparison (default 64 KiB, hash-sync.ts HASH_SYNC_BLOCK_SIZE). */
  blockSize?: number;
}

export async function initialReplicationFromBackup(options: FromBackupOptions): Promise<CycleReport> {
  const { stateDir, host } = options;
  const clock = options.clock ?? (() => new Date());
  const vm = await host.getVm(options.vm);
  const rel = await requireRelationship(stateDir, vm.id, vm.name);
  const stateFile = primaryStateFile(stateDir, vm.id);
  const store = new RelationshipStore(stateDir);
  const monitoring = await new ReplicaConfigStore(stateDir).load();
  return withCycleLock(cycleLockFile(stateDir, vm.id), vm.name, async (cancelled) => {
    const signal = joinSignals(options.signal, cancelled);
    if (await loadPrimaryState(stateFile)) {
      throw new AgentError('ERR_INVALID_STATE', `the initial replication of '${vm.name}' is already done; delta cycles follow with "hvreplica replicate" or the agent`);
    }
    await store.update(vm.id, (current) => ({ next: current && { ...current, ReplicationState: 'InitialReplicationInProgress' }, result: undefined }));
    const credential = await credentialOf(stateDir, rel);
    const endpoint = endpointOf(rel);
    const start = clock();
    let report: CycleReport;
    try {
      const definition = definitionOf(vm, rel);
      // As before any full copy: a Hyper-V replica realises the VM from the host's own definition.
      const exported = await host.exportDefinition(vm.id);
      if (exported) definition.HostConfiguration = hostConfigurationToWire(exported);
      const client = await ReplicaClient.connect(endpoint, credential, { signal });
      try {
        const seeded = await client.seedFromBackup(definition, signal);
        log.info('replica seeded from the copy on the replica server', { vm: vm.name, path: seeded.BackupPath, seeded: seeded.Seeded, position: seeded.Position });
      } finally {
        await client.close();
      }
      const result = await hashSyncRelationship({ ...options, signal }, vm.id, rel, { endpoint, credential });
      report = hashSyncReport('initial', result, start, clock());
    } catch (error) {
      if (signal.aborted) throw error;
      // Stays InitialReplicationInProgress: running it again seeds nothing twice and compares afresh.
      await store.update(vm.id, (current) => ({ next: current && afterFailure(current, error, clock(), monitoring), result: undefined }));
      throw error;
    }
    await store.update(vm.id, (current) => ({
      next: current && afterSuccess(current, { kind: 'initial', consistency: 'crash', logBytes: report.LogBytes, latencySec: report.LatencySec }, new Date(report.EndTime), monitoring),
      result: undefined,
    }));
    log.info('initial replication from a copy done', { vm: vm.name, comparedBytes: report.ComparedBytes, changedBytes: report.ChangedBytes, logBytes: report.LogBytes });
    return report;
  });
}
