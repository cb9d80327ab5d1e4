/**
 * What the replica server does for an authenticated primary, independent of the wire: decide whether
 * its certificate names are authorized (first matching entry), find the VM's replica folder, create
 * the replica from the VM definition, and hand uploads to the receiver. The transport calls only this.
 */
import { ReplicaConfigStore } from './config-store.js';
import { findAuthorization, type AuthorizationEntry } from './authorization.js';
import { ReplicaError } from './errors.js';
import type { ReplicaVmDefinition } from '../protocol/index.js';
import type { LogConsumer, LogKey } from './log-consumer.js';
import { LogReceiver, type LogIdentity, type UploadRequest, type UploadStatus } from './log-receiver.js';
import type { ReplicaRecords } from './replica-records.js';
import type { DefineResult } from './replica-vms.js';
import { VmRegistry } from './vm-registry.js';
import { RemovedRelationships, type RequestPurpose } from './removed-relationships.js';
import { RefusalWatch } from './refusal-watch.js';
import { withUploadMark } from './upload-marks.js';

export interface PrimaryIdentity {
  /** DNS names from the client certificate (SAN, else CN), lower-case. */
  dnsNames: string[];
  thumbprint: string;
}

export interface PrimaryAuthorization {
  primaryServerName: string;
  entry: AuthorizationEntry;
  /** The relationship the request names (`hvr-relationship-id`), when its primary sends one. */
  relationshipId?: string;
}

export interface ReplicaHandler {
  authorize(identity: PrimaryIdentity): Promise<PrimaryAuthorization>;
  /**
   * Before anything about `vmId` is read or stored: refuses (ERR_REPLICATION_REMOVED) a relationship
   * removed on this server (removed-relationships.ts). `define`: the request starts a replica.
   */
  admit(auth: PrimaryAuthorization, vmId: string, purpose: RequestPurpose): Promise<void>;
  /** The replica VM definition (initial replication): creates the replica or checks it matches. */
  defineVm(auth: PrimaryAuthorization, definition: ReplicaVmDefinition): Promise<DefineResult>;
  uploadStatus(auth: PrimaryAuthorization, key: LogKey, identity?: LogIdentity): Promise<UploadStatus>;
  upload(auth: PrimaryAuthorization, key: LogKey, request: Omit<UploadRequest, 'primaryServerName'>, body: AsyncIterable<Uint8Array>): Promise<UploadStatus>;
}

export class ReplicaService implements ReplicaHandler {
  private readonly config: ReplicaConfigStore;
  private readonly vms: VmRegistry;
  private readonly removed: RemovedRelationships;
  private readonly receiver: LogReceiver;

  /** `replicas` is the LogConsumer that keeps what arrives; `define` creates a VM's replica. */
  constructor(
    stateDir: string,
    private readonly replicas: LogConsumer & { define(vmDir: string, definition: ReplicaVmDefinition, primaryServerName?: string): Promise<DefineResult> },
    options: { maxLogBytes: number; records?: ReplicaRecords },
  ) {
    this.config = new ReplicaConfigStore(stateDir);
    this.vms = new VmRegistry(stateDir);
    this.removed = new RemovedRelationships(stateDir);
    this.receiver = new LogReceiver(replicas, options);
    this.records = options.records;
  }

  private readonly records: ReplicaRecords | undefined;

  async admit(auth: PrimaryAuthorization, vmId: string, purpose: RequestPurpose): Promise<void> {
    const refusal = await this.removed.refusal(vmId, auth.relationshipId, async () => (await this.vms.get(vmId)) !== undefined, purpose);
    if (refusal) throw refusal;
  }

  async defineVm(auth: PrimaryAuthorization, definition: ReplicaVmDefinition): Promise<DefineResult> {
    // A definition names the relationship the replica belongs to from now on (enabled again: another one).
    const vm = await this.vms.open(definition.VMId, auth.entry, auth.primaryServerName, { id: auth.relationshipId, replace: true });
    return this.replicas.define(vm.Path, definition, auth.primaryServerName);
  }

  async authorize(identity: PrimaryIdentity): Promise<PrimaryAuthorization> {
    // Read on every request so that "auth add/remove" takes effect without restarting the server.
    const config = await this.config.load();
    if (!config.ReplicationEnabled) throw new ReplicaError('ERR_UNAUTHORIZED', 'replication is not enabled on this replica server');
    const entry = findAuthorization(config.AuthorizationEntries, identity.dnsNames);
    if (!entry) {
      throw new ReplicaError(
        'ERR_UNAUTHORIZED',
        `primary server ${identity.dnsNames.join(', ') || '(no DNS name)'} is not authorized: no authorization entry matches; on the replica run "hvreplica auth add --allowed-primary-server <fqdn> ..."`,
      );
    }
    const matched = identity.dnsNames.find((n) => findAuthorization([entry], [n])) ?? identity.dnsNames[0]!;
    return { primaryServerName: matched, entry };
  }

  async uploadStatus(auth: PrimaryAuthorization, key: LogKey, identity?: LogIdentity): Promise<UploadStatus> {
    const vm = await this.vms.get(key.vmId);
    if (!vm) return { ReceivedBytes: 0, Accepted: false, Position: null };
    const record = await this.vms.open(key.vmId, auth.entry, auth.primaryServerName, { id: auth.relationshipId, replace: false });
    return this.receiver.status(record.Path, key, identity);
  }

  async upload(auth: PrimaryAuthorization, key: LogKey, request: Omit<UploadRequest, 'primaryServerName'>, body: AsyncIterable<Uint8Array>): Promise<UploadStatus> {
    const vm = await this.vms.open(key.vmId, auth.entry, auth.primaryServerName, { id: auth.relationshipId, replace: false });
    // Seen by a removal or a failover's completion in another process, which waits for it before deleting
    // the folder (upload-marks.ts). Written before the upload looks for a tombstone or a failover: one that
    // began before the mark was there changed its record first, so this upload is refused below.
    return withUploadMark(vm.Path, `disk ${key.diskId} cycle ${key.generation}/${key.sequence}`, async () => {
      const refusal = async (): Promise<ReplicaError | undefined> =>
        (await this.removed.removedMeanwhile(key.vmId, () => this.vms.get(key.vmId))) ?? (await this.failedOver(key.vmId, auth.primaryServerName));
      // Nothing of the upload is written into a folder a removal deletes (or deleted), nor into a replica that
      // failed over, and the primary is told why. Checked again under the storage lock when the log is handed over.
      const refused = await refusal();
      if (refused) throw refused;
      const watch = new RefusalWatch(refusal);
      try {
        return await this.receiver.receive(vm.Path, key, { ...request, primaryServerName: auth.primaryServerName }, watch.guard(body));
      } finally {
        watch.stop();
      }
    });
  }

  /** Why the VM takes no logs any more (it failed over here, or replication was reversed), or undefined. */
  private async failedOver(vmId: string, primaryServerName: string): Promise<ReplicaError | undefined> {
    try {
      await this.records?.receiving(vmId, primaryServerName);
      return undefined;
    } catch (error) {
      if (error instanceof ReplicaError && error.code === 'ERR_INVALID_STATE') return error;
      throw error;
    }
  }
}
