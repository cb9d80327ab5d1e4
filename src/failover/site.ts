/**
 * One host's state directory as the in-process failover library sees it: its file host (VMs), its
 * failover records, the replica storage it keeps for VMs it receives, and the primary state of VMs it
 * sends. The CLI and the replica server build one per state directory; tests build three.
 *
 *   <state>/vms/                        the file host's VMs
 *   <state>/failover/<VMId>.json        failover record (record.ts); <VMId>.primary.json the Replicator's state
 *   <state>/replica/<VMId>/             replica storage (recovery points)
 *   <state>/replica-vms/<VMId>/vm/      configuration of a failed-over VM; .../disks/ its own layers
 *   <state>/test-vms/<VMId>/            the test VM of a test failover and its layers
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FileHost } from '../host/file/file-host.js';
import { normalizeGuid } from '../protocol/guid.js';
import { openVhdxReplicaStorage, type VhdxReplicaStorage } from '../storage/vhdx-replica-storage.js';
import { FailoverStore } from './record.js';

export interface FailoverSiteOptions {
  /** This host's DNS name (PrimaryServerName / ReplicaServerName of its relationships). */
  name: string;
  stateDir: string;
  /** Block size of the content hashes that decide what reverse replication sends (default 1 MiB). */
  hashBlockSize?: number;
  /** Block size of new replica base disks (default the VHDX engine's). */
  storageBlockSize?: number;
  /** Time source of recovery points and history entries; tests step it. */
  clock?: () => Date;
}

export class FailoverSite {
  readonly host: FileHost;
  readonly store: FailoverStore;
  readonly clock: () => Date;

  constructor(readonly options: FailoverSiteOptions) {
    this.host = new FileHost({ root: join(options.stateDir, 'vms') });
    this.store = new FailoverStore(options.stateDir);
    this.clock = options.clock ?? (() => new Date());
  }

  get name(): string {
    return this.options.name;
  }

  get hashBlockSize(): number {
    return this.options.hashBlockSize ?? 1024 * 1024;
  }

  storageRoot(vmId: string): string {
    return join(this.options.stateDir, 'replica', normalizeGuid(vmId, 'VM id'));
  }

  primaryStateFile(vmId: string): string {
    return join(this.store.dir, `${normalizeGuid(vmId, 'VM id')}.primary.json`);
  }

  extendedStateFile(vmId: string): string {
    return join(this.store.dir, `${normalizeGuid(vmId, 'VM id')}.extended-primary.json`);
  }

  failedOverVmFolder(vmId: string): string {
    return join(this.options.stateDir, 'replica-vms', normalizeGuid(vmId, 'VM id'), 'vm');
  }

  failedOverDiskFolder(vmId: string): string {
    return join(this.options.stateDir, 'replica-vms', normalizeGuid(vmId, 'VM id'), 'disks');
  }

  testVmFolder(vmId: string): string {
    return join(this.options.stateDir, 'test-vms', normalizeGuid(vmId, 'VM id'));
  }

  /** The folder of the primary and extended state files (the records may live in relationships/). */
  async ensureStateFolder(): Promise<void> {
    await mkdir(this.store.dir, { recursive: true });
  }

  openStorage(vmId: string): Promise<VhdxReplicaStorage> {
    return openVhdxReplicaStorage(this.storageRoot(vmId), { clock: this.clock });
  }
}
