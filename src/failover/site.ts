/**
 * One host's state directory as the in-process failover library sees it: its host adapter (VMs), its
 * failover records, the replica storage it keeps for VMs it receives, and the primary state of VMs it
 * sends. The CLI builds one per state directory with the host adapter this host replicates with (the
 * Hyper-V adapter on Windows); the replica server and tests build theirs, tests three.
 *
 *   <state>/vms/                        the file host's VMs, when the site is given no other host
 *   <state>/failover/<VMId>.json        failover record (record.ts); <VMId>.primary.json the Replicator's state
 *   <state>/replica/<VMId>/             replica storage (recovery points) of the in-process library;
 *                                       a VM the replica server registered (src/replica/vm-registry.ts)
 *                                       keeps it at <ReplicaStorageLocation>/hvreplica/<VMId> instead
 *   <state>/replica-vms/<VMId>/vm/      configuration of a failed-over VM; .../disks/ its own layers
 *   <state>/test-vms/<VMId>/            the test VM of a test failover and its layers
 *   <state>/kept-replicas/<VMId>/       the VM Remove-VMReplication on this replica kept (./remove-replica.ts)
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createHostAdapter } from '../host/factory.js';
import type { HostAdapter } from '../host/host-adapter.js';
import { normalizeGuid } from '../protocol/guid.js';
import { withStorageLock, type StorageLockOptions } from '../replica/storage-lock.js';
import { VmRegistry } from '../replica/vm-registry.js';
import { openVhdxReplicaStorage, type VhdxReplicaStorage } from '../storage/vhdx-replica-storage.js';
import { FailoverStore } from './record.js';

export interface FailoverSiteOptions<H extends HostAdapter = HostAdapter> {
  /** This host's DNS name (PrimaryServerName / ReplicaServerName of its relationships). */
  name: string;
  stateDir: string;
  /**
   * The host whose VMs fail over here (the CLI: its host adapter for this machine); default the file host
   * of `<stateDir>/vms`, the in-process library's and the tests'.
   */
  host?: H;
  /** Block size of the content hashes that decide what reverse replication sends (default 1 MiB). */
  hashBlockSize?: number;
  /** Block size of new replica base disks (default the VHDX engine's). */
  storageBlockSize?: number;
  /** Time source of recovery points and history entries; tests step it. */
  clock?: () => Date;
  /** Told when an operation waits for another process's hold of a VM's replica storage (the replica server applying). */
  onStorageWait?: StorageLockOptions['onWait'];
}

export class FailoverSite<H extends HostAdapter = HostAdapter> {
  readonly host: H;
  readonly store: FailoverStore;
  readonly clock: () => Date;

  constructor(readonly options: FailoverSiteOptions<H>) {
    // Without a host, H is its default (HostAdapter), which the file host is.
    this.host = options.host ?? (createHostAdapter({ kind: 'file', stateDir: options.stateDir }) as H);
    this.store = new FailoverStore(options.stateDir);
    this.clock = options.clock ?? (() => new Date());
  }

  get name(): string {
    return this.options.name;
  }

  get hashBlockSize(): number {
    return this.options.hashBlockSize ?? 1024 * 1024;
  }

  /** The in-process library's place for a VM's replica storage (see storagePath for where it really is). */
  storageRoot(vmId: string): string {
    return join(this.options.stateDir, 'replica', normalizeGuid(vmId, 'VM id'));
  }

  /** The replica server's registry of this state directory: which VMs it receives, and where it stores them. */
  get registry(): VmRegistry {
    return new VmRegistry(this.options.stateDir);
  }

  /**
   * Where the VM's replica storage is: the folder the replica server registered for it (under its
   * authorization entry's storage location), or the library's own place when no server registered it.
   */
  async storagePath(vmId: string): Promise<string> {
    return (await this.registry.get(vmId))?.Path ?? this.storageRoot(vmId);
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

  /** Where Remove-VMReplication on this replica keeps the VM (configuration in vm/, standalone disks in disks/). */
  keptReplicaFolder(vmId: string): string {
    return join(this.options.stateDir, 'kept-replicas', normalizeGuid(vmId, 'VM id'));
  }

  testVmFolder(vmId: string): string {
    return join(this.options.stateDir, 'test-vms', normalizeGuid(vmId, 'VM id'));
  }

  /** The folder of the primary and extended state files (the records may live in relationships/). */
  async ensureStateFolder(): Promise<void> {
    await mkdir(this.store.dir, { recursive: true });
  }

  /**
   * Opens the storage without the cross-process lock: for reading in tests and single-process setups.
   * Operations that may meet the replica server use withStorage.
   */
  async openStorage(vmId: string): Promise<VhdxReplicaStorage> {
    return openVhdxReplicaStorage(await this.storagePath(vmId), { clock: this.clock });
  }

  /**
   * Runs `body` on the VM's storage while holding its cross-process lock (src/replica/storage-lock.ts),
   * so the replica server never applies logs to it meanwhile. The storage is opened inside the lock and
   * must not be used after `body` returns.
   */
  async withStorage<T>(vmId: string, purpose: string, body: (storage: VhdxReplicaStorage, path: string) => Promise<T>): Promise<T> {
    return this.withStorageAt(await this.storagePath(vmId), purpose, body);
  }

  /** withStorage of the storage at `path`: for a removal that recorded where it was (its registration may be gone). */
  async withStorageAt<T>(path: string, purpose: string, body: (storage: VhdxReplicaStorage, path: string) => Promise<T>): Promise<T> {
    return withStorageLock(path, purpose, async () => body(await openVhdxReplicaStorage(path, { clock: this.clock }), path), this.lockOptions);
  }

  /** Holds the storage lock of a VM without opening the storage (it may not exist yet, or be deleted inside). */
  async lockStorage<T>(vmId: string, purpose: string, body: (path: string) => Promise<T>): Promise<T> {
    const path = await this.storagePath(vmId);
    return withStorageLock(path, purpose, () => body(path), this.lockOptions);
  }

  private get lockOptions(): StorageLockOptions {
    return this.options.onStorageWait ? { onWait: this.options.onStorageWait } : {};
  }
}
