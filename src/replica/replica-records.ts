/**
 * The replica server's side of the failover records (src/failover/record.ts): what `hvreplica failover`,
 * `recovery-point list` and `replication get` on this host read. One source of truth: every change goes
 * through the FailoverStore of the server's state directory and the state machine's transition().
 *
 *   define    PUT /v1/vms/<vmId>: creates the record (mode Replica, WaitingForInitialReplication, the
 *             configuration the primary described), or refreshes its configuration and settings
 *   receiving before a log is stored: refuses it unless the record takes changes (not after a failover)
 *   received  a log arrived: its bytes counted for the cycle (replica-statistics.ts)
 *   applied   after cycles were applied: WaitingForInitialReplication → Replicating, LastReplicationTime
 *             and LastReplicationType stamped, each cycle counted in the replica's statistics
 *   prepared  the primary's planned failover shipped its last cycle: LastReplicationType Planned
 *   mayApply  no while a test failover runs: its VM's layers sit on a recovery point that a retention merge would
 *             change, so cycles are kept (durably, acknowledged) and applied once the test stops
 */
import type { VmConfiguration } from '../host/host-adapter.js';
import { fromWire } from '../host/hyperv/exported-definition.js';
import { logger } from '../logging/logger.js';
import { FailoverError } from '../failover/errors.js';
import type { FailoverRecord } from '../failover/record.js';
import { acceptsChanges, newRecord, refusesChangesBecause } from '../failover/replication.js';
import { FailoverSite } from '../failover/site.js';
import { transition, type ReplicationMode } from '../failover/state.js';
import { normalizeGuid, type ReplicaVmDefinition } from '../protocol/index.js';
import type { Consistency } from '../storage/replica-storage.js';
import { ReplicaConfigStore } from './config-store.js';
import { ReplicaError } from './errors.js';
import { recordApplied, recordReceived } from './replica-statistics.js';
import { RemovedRelationships } from './removed-relationships.js';

const log = logger('replica-records');

export interface ReplicaRecordsOptions {
  stateDir: string;
  /** This server's DNS name: ReplicaServerName of the records it writes. */
  serverName: string;
  clock?: () => Date;
}

/** What a definition says about the relationship it belongs to (Extended: this server is C of A→B→C). */
function modeOf(definition: ReplicaVmDefinition): { mode: ReplicationMode; relationshipType: 'Simple' | 'Extended' } {
  const type = (definition as ReplicaVmDefinition & { ReplicationRelationshipType?: unknown }).ReplicationRelationshipType;
  return type === 'Extended' ? { mode: 'ExtendedReplica', relationshipType: 'Extended' } : { mode: 'Replica', relationshipType: 'Simple' };
}

/** The primary's configuration as the failover library keeps it: checked enough that a failover can use it. */
function configurationOf(definition: ReplicaVmDefinition): VmConfiguration {
  const c = definition.Configuration as Partial<VmConfiguration>;
  if (typeof c.id !== 'string' || typeof c.name !== 'string' || !Array.isArray(c.disks) || c.disks.length !== definition.Disks.length) {
    throw new ReplicaError('ERR_INVALID_ARGUMENT', `the definition of VM '${definition.VMName}' carries no usable VM configuration (id, name and one entry per disk); upgrade the primary's hvreplica`);
  }
  const configuration = definition.Configuration as unknown as VmConfiguration;
  // A Hyper-V primary ships its exported definition beside it: what a failover here realises the VM from.
  return definition.HostConfiguration ? { ...configuration, exportedDefinition: fromWire(definition.HostConfiguration) } : configuration;
}

function asReplicaError(error: unknown): unknown {
  // The wire maps ReplicaError codes to statuses; a FailoverError carries the same codes.
  return error instanceof FailoverError ? new ReplicaError(error.code === 'ERR_INVALID_STATE' ? 'ERR_INVALID_STATE' : 'ERR_CORRUPT_STATE', error.message) : error;
}

export class ReplicaRecords {
  readonly site: FailoverSite;

  constructor(readonly options: ReplicaRecordsOptions) {
    this.site = new FailoverSite({ name: options.serverName, stateDir: options.stateDir, ...(options.clock ? { clock: options.clock } : {}) });
  }

  get(vmId: string): Promise<FailoverRecord | undefined> {
    return this.site.store.get(normalizeGuid(vmId, 'VM id'));
  }

  /** PUT /v1/vms/<vmId>: the record of a new replica, or the existing one with the configuration refreshed. */
  async define(definition: ReplicaVmDefinition, primaryServerName: string): Promise<FailoverRecord> {
    const configuration = configurationOf(definition);
    const vmId = normalizeGuid(definition.VMId, 'VM id');
    try {
      return await this.site.store.update(vmId, (current) => {
        // A record whose removal stopped after the registration went (remove-replica.ts) is the removed
        // relationship's: a new one (another id, admitted as such) starts afresh, and its own later removal
        // must not take that one's tombstone entry, storage folder or kept VM for its own.
        if (!current || current.removal) {
          const { mode, relationshipType } = modeOf(definition);
          const created = newRecord(this.site, configuration, mode, primaryServerName, {
            replicationFrequencySec: definition.ReplicationFrequencySec,
            recoveryHistory: definition.RecoveryHistory,
            relationshipType,
          });
          const next: FailoverRecord = { ...created, vmId, vmName: definition.VMName };
          log.info('replica record created', { vm: definition.VMName, vmId, primary: primaryServerName, state: next.state });
          return { next, result: next };
        }
        if (!acceptsChanges(current)) throw refusesChangesBecause(current, primaryServerName);
        // Resume-VMReplication -Continue on the sender (B of A→B→C, after A→B failed over): a definition
        // without the Extended mark makes this extended replica the sender's plain replica (§5.7).
        const continued: FailoverRecord =
          current.mode === 'ExtendedReplica' && modeOf(definition).mode === 'Replica'
            ? { ...transition(current, 'continueExtended', `${primaryServerName} continues as the primary (Resume-VMReplication -Continue)`, this.site.clock()), relationshipType: 'Simple' }
            : current;
        const next: FailoverRecord = {
          ...continued,
          vmName: definition.VMName,
          configuration,
          replicationFrequencySec: definition.ReplicationFrequencySec,
          recoveryHistory: definition.RecoveryHistory,
          peerServer: primaryServerName,
        };
        return { next, result: next };
      });
    } catch (error) {
      throw asReplicaError(error);
    }
  }

  /**
   * Before a log of `vmId` is stored: refuses it (ERR_INVALID_STATE, HTTP 409, which the primary does not
   * retry) unless the record takes changes. A VM defined before records existed gets one from its
   * definition on the way.
   */
  async receiving(vmId: string, primaryServerName: string, definition?: () => Promise<ReplicaVmDefinition | undefined>): Promise<void> {
    await this.refuseIfRemoved(vmId);
    let record = await this.get(vmId);
    if (!record) {
      const known = await definition?.();
      if (!known) return;
      record = await this.define(known, primaryServerName);
    }
    if (!acceptsChanges(record)) throw asReplicaError(refusesChangesBecause(record, primaryServerName));
  }

  /**
   * Refuses work on a VM whose replication was removed on this server after the request was admitted
   * (its registration is gone, its tombstone written): called under the VM's storage lock.
   */
  async refuseIfRemoved(vmId: string): Promise<void> {
    const registry = this.site.registry;
    const refusal = await new RemovedRelationships(this.options.stateDir).removedMeanwhile(vmId, () => registry.get(vmId));
    if (refusal) throw refusal;
  }

  /**
   * Whether received cycles may be applied now: not while a test failover's VM sits on a recovery point
   * (retention could merge it), and not once the replica failed over (its storage belongs to the failover).
   */
  async mayApply(vmId: string): Promise<boolean> {
    const record = await this.get(vmId);
    return record === undefined || (record.testFailover === undefined && acceptsChanges(record));
  }

  /** A log of a cycle was received (for the replica's statistics: the bytes each cycle brought). */
  async received(vmId: string, cycle: { generation: number; sequence: number }, bytes: number): Promise<void> {
    await recordReceived(this.options.stateDir, vmId, cycle, bytes, this.site.clock());
  }

  /**
   * Cycles were applied: the first completes the initial replication; each stamps the last replication
   * and counts in the replica's statistics (Measure-VMReplication on this host).
   */
  async applied(vmId: string, cycles: ReadonlyArray<{ generation: number; sequence: number; consistency: Consistency }>): Promise<void> {
    const last = cycles.at(-1);
    if (!last) return;
    const id = normalizeGuid(vmId, 'VM id');
    if (!(await this.get(id))) return;
    await recordApplied(this.options.stateDir, id, cycles, this.site.clock(), await new ReplicaConfigStore(this.options.stateDir).load());
    const at = this.site.clock().toISOString();
    await this.site.store.modify(id, (r) => {
      const initial = r.state === 'WaitingForInitialReplication' || r.state === 'InitialReplicationInProgress';
      const next = initial ? transition(r, 'completeInitialReplication', `cycle ${last.generation}/${last.sequence} applied`, this.site.clock()) : r;
      const planned = r.plannedPosition !== undefined && r.plannedPosition.generation === last.generation && r.plannedPosition.sequence === last.sequence;
      return { ...next, lastReplicationTime: at, lastReplicationType: planned ? 'Planned' : last.consistency === 'application' ? 'ApplicationConsistent' : 'Regular' };
    });
  }

  /**
   * The primary prepared a planned failover and says its last cycle is at `position`: a failover to that
   * point loses nothing, so it counts as Planned. The cycle must be held here already.
   */
  async prepared(vmId: string, position: { generation: number; sequence: number }, held: { generation: number; sequence: number } | undefined): Promise<FailoverRecord> {
    const id = normalizeGuid(vmId, 'VM id');
    if (!held || held.generation !== position.generation || held.sequence !== position.sequence) {
      throw new ReplicaError(
        'ERR_INVALID_STATE',
        `the primary prepared a planned failover at cycle ${position.generation}/${position.sequence}, but this replica holds ${held ? `${held.generation}/${held.sequence}` : 'no cycle'}; run the prepare again`,
      );
    }
    try {
      return await this.site.store.modify(id, (r) => {
        if (!acceptsChanges(r)) throw refusesChangesBecause(r, r.peerServer);
        return { ...r, plannedPosition: { generation: position.generation, sequence: position.sequence }, lastReplicationType: 'Planned' };
      });
    } catch (error) {
      throw asReplicaError(error);
    }
  }
}
