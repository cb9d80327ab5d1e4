/**
 * The failover record of one VM on one host: mode, state, history and what the current failover or test
 * failover created. Where src/relationship/ holds the VM's relationship (the CLI's `replication enable`),
 * the record lives INSIDE that relationship file: its ReplicationState / ReplicationMode are the machine's
 * state and mode, and the rest sits under the `Failover` property, so one atomic write under one lock
 * changes both and there is a single source of truth. Without one (a replica host, library use) it is
 * `<state>/failover/<VMId>.json`; the extended relationship always has its own `<VMId>.extended.json`.
 */
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import type { VmConfiguration } from '../host/host-adapter.js';
import { normalizeGuid } from '../protocol/guid.js';
import { RelationshipStore } from '../relationship/store.js';
import type { ReplicationRelationship, ReplicationRelationshipType, ReplicationType } from '../relationship/types.js';
import { readJsonFile, withFileLock, writeFileAtomic } from '../replica/atomic-file.js';
import { FailoverError } from './errors.js';
import { REPLICATION_STATES, type StateCarrier } from './state.js';

export const FAILOVER_RECORD_FORMAT = 1;

/** What a running failover (Start-VMFailover, not yet completed or cancelled) put in place. */
export interface ActiveFailover {
  /** The recovery point the VM was brought up from. */
  pointId: string;
  type: ReplicationType;
  /** Host disk id → the VM's own differencing layer over the point (the point's chain stays untouched). */
  layers: Record<string, string>;
  /** Folder of the VM's configuration on this host. */
  vmFolder: string;
}

/**
 * What Complete-VMFailover left for later because the VM ran on a host that holds its disk chain open
 * (Hyper-V): the recovery point's chain stays, as the VM's disks' parents, until the VM is next off; then
 * the VM is moved onto standalone disks and these files go (src/failover/held-chain.ts).
 */
export interface HeldChain {
  /** The recovery point the VM runs on. */
  pointId: string;
  /** The storage folder the files are in; it holds nothing else, and goes with them. */
  storagePath: string;
  /** Host disk id → the top of the point's chain, the parent of the VM's own layer. */
  bases: Record<string, string>;
  /** Every file of those chains: all that is left of the recovery points. */
  files: string[];
  /** ISO 8601 UTC: when the failover was completed. */
  since: string;
}

export interface TestFailover {
  vmName: string;
  vmId: string;
  pointId: string;
  folder: string;
  startedAt: string;
}

export interface FailoverRecord extends StateCarrier {
  formatVersion: typeof FAILOVER_RECORD_FORMAT;
  vmId: string;
  relationshipType: ReplicationRelationshipType;
  /** This host's name and the other end's (primary: the replica server; replica: the primary server). */
  localServer: string;
  peerServer: string;
  replicationFrequencySec: number;
  recoveryHistory: number;
  /** The VM's configuration as the primary described it: what a failover registers on this host. */
  configuration: VmConfiguration;
  lastReplicationTime: string | null;
  lastReplicationType: ReplicationType;
  failedOverReplicationType: ReplicationType;
  lastTestFailoverInitiatedTime: string | null;
  failover?: ActiveFailover;
  /**
   * The id of the failed-over VM on this host when it is not `vmId`: Hyper-V gives a replica a new id when
   * its primary lives on the same host (replication to localhost). Set by a failover, gone with its cancel.
   */
  hostVmId?: string;
  testFailover?: TestFailover;
  /** A completed failover whose flattening waits until the VM is off (Hyper-V held its chain open). */
  heldChain?: HeldChain;
  /**
   * The cycle a planned failover's prepare shipped (Start-VMFailover -Prepare on the primary): a failover
   * to exactly this position is Planned, i.e. loses nothing. Set on the replica when the primary says so.
   */
  plannedPosition?: { generation: number; sequence: number };
  /**
   * A removal of this replica's relationship under way (./remove-replica.ts), written before anything of it
   * changes: a removal run again after a failure goes on with the same tombstone entry (its RemovedAt) and the
   * replica storage where it was, though the server's registration that said where may be gone already.
   */
  removal?: { RemovedAt: string; StoragePath: string };
}

/** Where this record's VM is on this host: its own id, or the one Hyper-V gave a same-host replica. */
export function vmOnHost(record: Pick<FailoverRecord, 'vmId' | 'hostVmId'>): string {
  return record.hostVmId ?? record.vmId;
}

/** The fields a relationship file already has under Hyper-V's names; the rest is embedded. */
type Mirrored =
  | 'vmId'
  | 'vmName'
  | 'mode'
  | 'state'
  | 'relationshipType'
  | 'replicationFrequencySec'
  | 'recoveryHistory'
  | 'lastReplicationTime'
  | 'lastReplicationType'
  | 'failedOverReplicationType'
  | 'lastTestFailoverInitiatedTime';
export type EmbeddedFailover = Omit<FailoverRecord, Mirrored>;
export type RelationshipWithFailover = ReplicationRelationship & { Failover?: EmbeddedFailover };

function fromRelationship(rel: RelationshipWithFailover): FailoverRecord | undefined {
  if (!rel.Failover) return undefined;
  return {
    ...rel.Failover,
    vmId: rel.VMId,
    vmName: rel.VMName,
    mode: rel.ReplicationMode,
    state: rel.ReplicationState,
    relationshipType: rel.ReplicationRelationshipType,
    replicationFrequencySec: rel.ReplicationFrequencySec,
    recoveryHistory: rel.RecoveryHistory,
    lastReplicationTime: rel.LastReplicationTime,
    lastReplicationType: rel.LastReplicationType,
    failedOverReplicationType: rel.FailedOverReplicationType,
    lastTestFailoverInitiatedTime: rel.LastTestFailoverInitiatedTime,
  };
}

function intoRelationship(rel: ReplicationRelationship, record: FailoverRecord): RelationshipWithFailover {
  const {
    vmId: _vmId,
    vmName,
    mode,
    state,
    relationshipType,
    replicationFrequencySec,
    recoveryHistory,
    lastReplicationTime,
    lastReplicationType,
    failedOverReplicationType,
    lastTestFailoverInitiatedTime,
    ...embedded
  } = record;
  // After a reverse the same file describes the other direction: the servers swap with the mode.
  const primary = mode === 'Primary';
  return {
    ...rel,
    VMName: vmName,
    ReplicationMode: mode,
    ReplicationState: state,
    ReplicationRelationshipType: relationshipType,
    ReplicationFrequencySec: replicationFrequencySec,
    RecoveryHistory: recoveryHistory,
    LastReplicationTime: lastReplicationTime,
    LastReplicationType: lastReplicationType,
    FailedOverReplicationType: failedOverReplicationType,
    LastTestFailoverInitiatedTime: lastTestFailoverInitiatedTime,
    PrimaryServerName: primary ? record.localServer : record.peerServer,
    ReplicaServerName: primary ? record.peerServer : record.localServer,
    CurrentReplicaServerName: primary ? record.peerServer : record.localServer,
    Failover: embedded,
  };
}

export class FailoverStore {
  readonly dir: string;
  readonly relationships: RelationshipStore;
  constructor(stateDir: string) {
    this.dir = join(stateDir, 'failover');
    this.relationships = new RelationshipStore(stateDir);
  }

  path(vmId: string, type: ReplicationRelationshipType = 'Simple'): string {
    return join(this.dir, `${normalizeGuid(vmId, 'VM id')}${type === 'Extended' ? '.extended' : ''}.json`);
  }

  /** The VM's relationship from src/relationship/, if the CLI created one on this host. */
  relationship(vmId: string): Promise<RelationshipWithFailover | undefined> {
    return this.relationships.get(vmId);
  }

  async get(vmId: string, type: ReplicationRelationshipType = 'Simple'): Promise<FailoverRecord | undefined> {
    if (type === 'Simple') {
      const rel = await this.relationship(vmId);
      const embedded = rel && fromRelationship(rel);
      if (embedded) return check(embedded, this.relationships.dir);
    }
    const path = this.path(vmId, type);
    const value = await readJsonFile<FailoverRecord>(path);
    return value === undefined ? undefined : check(value, path);
  }

  /** The record, or ERR_REPLICATION_NOT_ENABLED naming the VM. */
  async require(vmId: string, type: ReplicationRelationshipType = 'Simple'): Promise<FailoverRecord> {
    const record = await this.get(vmId, type);
    if (!record) {
      throw new FailoverError(
        'ERR_REPLICATION_NOT_ENABLED',
        `VM ${vmId} has no ${type === 'Extended' ? 'extended ' : ''}replication relationship on this host; enable replication first`,
      );
    }
    return record;
  }

  /**
   * Read-modify-write under the lock; `change` returns undefined to delete the record (inside a
   * relationship file only the Failover part goes: the relationship itself belongs to `replication`).
   */
  async update<T>(vmId: string, change: (current: FailoverRecord | undefined) => { next: FailoverRecord | undefined; result: T }, type: ReplicationRelationshipType = 'Simple'): Promise<T> {
    if (type === 'Simple' && (await this.relationship(vmId))) {
      return this.relationships.update(vmId, (rel) => {
        if (!rel) throw new FailoverError('ERR_REPLICATION_NOT_ENABLED', `the relationship of VM ${vmId} was removed meanwhile`);
        const { next, result } = change(fromRelationship(rel));
        if (next) return { next: intoRelationship(rel, next), result };
        const bare: RelationshipWithFailover = { ...rel };
        delete bare.Failover;
        return { next: bare, result };
      });
    }
    const path = this.path(vmId, type);
    return withFileLock(path, async () => {
      const { next, result } = change(await this.get(vmId, type));
      if (next === undefined) await rm(path, { force: true });
      else await writeFileAtomic(path, `${JSON.stringify(next, null, 2)}\n`);
      return result;
    });
  }

  /**
   * Like modify, for a VM whose relationship `replication enable` made and no failover operation touched
   * yet: its record is `adopt(relationship)` (built from the relationship) the first time, then embedded.
   */
  async modifyAdopting(vmId: string, adopt: (rel: ReplicationRelationship) => FailoverRecord, change: (current: FailoverRecord) => FailoverRecord): Promise<FailoverRecord> {
    if (!(await this.relationship(vmId))) return this.modify(vmId, change);
    return this.relationships.update(vmId, (rel) => {
      if (!rel) throw new FailoverError('ERR_REPLICATION_NOT_ENABLED', `the relationship of VM ${vmId} was removed meanwhile`);
      const next = change(fromRelationship(rel) ?? adopt(rel));
      return { next: intoRelationship(rel, next), result: next };
    });
  }

  /**
   * Moves a VM's record into the relationship `rel` (which `replication set --reverse` just built for a
   * replica that becomes a primary): relationship and record are then one file, as on any primary. The
   * relationship is written first, so a crash in between leaves the embedded record the one read.
   */
  async embed(vmId: string, rel: ReplicationRelationship, record: FailoverRecord): Promise<FailoverRecord> {
    await this.relationships.update(vmId, () => ({ next: intoRelationship(rel, record), result: undefined }));
    await rm(this.path(vmId), { force: true });
    return record;
  }

  /** Applies `change` to an existing record and returns the saved result. */
  async modify(vmId: string, change: (current: FailoverRecord) => FailoverRecord, type: ReplicationRelationshipType = 'Simple'): Promise<FailoverRecord> {
    return this.update(
      vmId,
      (current) => {
        if (!current) throw new FailoverError('ERR_REPLICATION_NOT_ENABLED', `VM ${vmId} has no replication relationship on this host; enable replication first`);
        const next = change(current);
        return { next, result: next };
      },
      type,
    );
  }
}

function check(value: FailoverRecord, path: string): FailoverRecord {
  if (
    typeof value !== 'object' ||
    value === null ||
    value.formatVersion !== FAILOVER_RECORD_FORMAT ||
    typeof value.vmId !== 'string' ||
    !(REPLICATION_STATES as readonly string[]).includes(value.state) ||
    !Array.isArray(value.history)
  ) {
    throw new FailoverError('ERR_CORRUPT_STATE', `${path} is not a failover record of format ${FAILOVER_RECORD_FORMAT}; restore it from a backup`);
  }
  return value;
}

/**
 * The failover record of a relationship that `replication enable` made and no failover operation touched
 * yet (replicated over the network by the agent): its state is the relationship's, the configuration the
 * host's VM's. Not stored until an operation changes it (FailoverStore.modifyAdopting).
 */
export function recordOfRelationship(rel: ReplicationRelationship, configuration: VmConfiguration): FailoverRecord {
  const primary = rel.ReplicationMode === 'Primary';
  return {
    formatVersion: FAILOVER_RECORD_FORMAT,
    vmId: rel.VMId,
    vmName: rel.VMName,
    mode: rel.ReplicationMode,
    state: rel.ReplicationState,
    history: [],
    relationshipType: rel.ReplicationRelationshipType,
    localServer: primary ? rel.PrimaryServerName : rel.ReplicaServerName,
    peerServer: primary ? rel.ReplicaServerName : rel.PrimaryServerName,
    replicationFrequencySec: rel.ReplicationFrequencySec,
    recoveryHistory: rel.RecoveryHistory,
    configuration,
    lastReplicationTime: rel.LastReplicationTime,
    lastReplicationType: rel.LastReplicationType,
    failedOverReplicationType: rel.FailedOverReplicationType,
    lastTestFailoverInitiatedTime: rel.LastTestFailoverInitiatedTime,
  };
}
