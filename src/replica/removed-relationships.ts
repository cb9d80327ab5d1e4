/**
 * The replica server's memory of relationships removed on it (Remove-VMReplication on the replica). Hyper-V
 * lets each side remove its end on its own; the primary keeps its relationship until its administrator removes
 * it there too, and goes on sending cycles. Were the replica server to forget the VM, the primary's next full
 * copy would define it again: a relationship the administrator removed would come back and could overwrite
 * the VM the removal kept. So the removal leaves a tombstone per VM, durably, before anything else goes, and
 * every request about that VM is checked against it (`refusal`):
 *
 *   - a request naming a removed relationship (`hvr-relationship-id`) is refused, whatever it asks;
 *   - a request naming none (a primary before relationship ids, or a relationship enabled before them) is
 *     refused: it cannot be told apart from the removed one;
 *   - a request naming another relationship is a new one (the primary's administrator removed and enabled
 *     again): its VM definition (or its seeding from a copy) starts a new replica; anything else it asks
 *     before that (a delta, a status, a comparison) finds no replica and is refused the same way.
 *
 *   <state>/replica/removed/<VMId>.json   {VMId, Removed: [{RelationshipId, VMName, ...}]}, newest last
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeGuid } from '../protocol/index.js';
import { readJsonFile, withFileLock, writeFileAtomic } from './atomic-file.js';
import { ReplicaError } from './errors.js';

export interface RemovedRelationship {
  /** The id the relationship's primary sent; null when it never sent one (enabled before ids existed). */
  RelationshipId: string | null;
  VMName: string;
  /** Simple: the primary's relationship (A→B); Extended: the extended replica's (B→C, removed on C). */
  RelationshipType: 'Simple' | 'Extended';
  PrimaryServerName: string;
  ReplicaServerName: string;
  /** ISO 8601 UTC; with the VM id, names this removal (the failover record and the kept VM's marker point at it). */
  RemovedAt: string;
  /**
   * When the replica server registered the relationship removed (its registration's CreatedAt), or null when
   * no server registered it (the in-process library). Absent in tombstones written before it was recorded.
   */
  RegisteredAt?: string | null;
}

/** The replica server's registration of a VM, as far as a tombstone can name it (src/replica/vm-registry.ts). */
export interface RegistrationIdentity {
  CreatedAt: string;
  RelationshipId?: string;
}

/**
 * Whether `removed` is the removal of the relationship `registration` belongs to: the very registration (its
 * CreatedAt), or the relationship id it names, or (neither side naming one) a relationship from before ids.
 */
function removes(removed: RemovedRelationship, registration: RegistrationIdentity): boolean {
  if (removed.RegisteredAt != null && removed.RegisteredAt === registration.CreatedAt) return true;
  return (removed.RelationshipId ?? undefined) === registration.RelationshipId;
}

interface TombstoneFile {
  VMId: string;
  Removed: RemovedRelationship[];
}

/** Each removal adds one; a VM removed and enabled again this often keeps only its latest removals. */
const KEPT_PER_VM = 64;

/** What a request is about: starting a replica (a definition, a seeding from a copy) or going on with one. */
export type RequestPurpose = 'define' | 'continue';

export class RemovedRelationships {
  readonly dir: string;
  constructor(stateDir: string) {
    this.dir = join(stateDir, 'replica', 'removed');
  }

  private path(vmId: string): string {
    return join(this.dir, `${normalizeGuid(vmId, 'VM id')}.json`);
  }

  async list(vmId: string): Promise<RemovedRelationship[]> {
    return (await readJsonFile<TombstoneFile>(this.path(vmId)))?.Removed ?? [];
  }

  /**
   * The latest removal of a relationship of a VM named `vmName` (case-insensitive, as Hyper-V matches names):
   * found by the relationship's own VM id, which the VM kept on this host need not have.
   */
  async latestNamed(vmName: string): Promise<RemovedRelationship | undefined> {
    const files = (await readdir(this.dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json'));
    const named: RemovedRelationship[] = [];
    for (const file of files) {
      const removed = (await readJsonFile<TombstoneFile>(join(this.dir, file)))?.Removed ?? [];
      named.push(...removed.filter((r) => r.VMName.toLowerCase() === vmName.toLowerCase()));
    }
    return named.sort((x, y) => x.RemovedAt.localeCompare(y.RemovedAt)).at(-1);
  }

  /**
   * For work that already passed `refusal` and now holds the VM's storage lock (a definition, a log handed
   * to the storage): refused when the VM was removed meanwhile, i.e. it has a tombstone and no longer a
   * registration, or a tombstone that removes the registration it still has (a removal between writing its
   * tombstone and deleting the registration: nothing arriving then may be stored, so acknowledged).
   */
  async removedMeanwhile(vmId: string, registration: () => Promise<RegistrationIdentity | undefined>): Promise<ReplicaError | undefined> {
    const removed = await this.list(vmId);
    const last = removed.at(-1);
    if (!last) return undefined;
    const current = await registration();
    return !current || removed.some((r) => removes(r, current)) ? removedError(last, false) : undefined;
  }

  /**
   * Records a removal durably (written atomically and synced before it returns). A removal run again after a
   * failure adds nothing: its entry (same RemovedAt and relationship) is there already.
   */
  async add(vmId: string, removed: RemovedRelationship): Promise<void> {
    const path = this.path(vmId);
    await withFileLock(path, async () => {
      const current = (await readJsonFile<TombstoneFile>(path))?.Removed ?? [];
      if (current.some((r) => r.RemovedAt === removed.RemovedAt && r.RelationshipId === removed.RelationshipId)) return;
      const next: TombstoneFile = { VMId: normalizeGuid(vmId, 'VM id'), Removed: [...current, removed].slice(-KEPT_PER_VM) };
      await writeFileAtomic(path, `${JSON.stringify(next, null, 2)}\n`);
    });
  }

  /**
   * Why a request about `vmId` is refused, or undefined when it may go on. `relationshipId` is what the
   * request named; `replicaHeld` whether this server holds a replica of the VM now (a relationship enabled
   * again after the removal has one once its definition arrived).
   */
  async refusal(vmId: string, relationshipId: string | undefined, replicaHeld: () => Promise<boolean>, purpose: RequestPurpose): Promise<ReplicaError | undefined> {
    // Most VMs were never removed: one missing file, and nothing else is read.
    const removed = await this.list(vmId);
    const last = removed.at(-1);
    if (!last) return undefined;
    if (relationshipId === undefined) return removedError(last, true);
    if (removed.some((r) => r.RelationshipId === relationshipId)) return removedError(last, false);
    return purpose === 'define' || (await replicaHeld()) ? undefined : removedError(last, false);
  }
}

/** The refusal the primary's administrator reads: which VM, where it was removed, and what to do on the primary. */
export function removedError(removed: RemovedRelationship, unnamed: boolean): ReplicaError {
  const vm = removed.VMName;
  const extended = removed.RelationshipType === 'Extended';
  const where = extended ? `the replica server that extends it (${removed.PrimaryServerName})` : `the primary (${removed.PrimaryServerName})`;
  const remove = extended ? `hvreplica replication remove --vm-name ${vm} --replication-relationship-type Extended` : `hvreplica replication remove --vm-name ${vm}`;
  const cmdlet = extended ? `Remove-HvrVMReplication ${vm} -ReplicationRelationshipType Extended` : `Remove-HvrVMReplication ${vm}`;
  return new ReplicaError(
    'ERR_REPLICATION_REMOVED',
    `replication of VM '${vm}' was removed on replica server ${removed.ReplicaServerName} at ${removed.RemovedAt}; it accepts nothing more of that relationship ` +
      `(the VM it held is kept there as an ordinary VM). On ${where}: remove the relationship too (${remove}, ${cmdlet}), then enable replication again if wanted, ` +
      'which starts a new initial replication (it can start from the kept VM\'s disks as an existing copy: hvreplica initial import --use-backup on the replica, initial start --use-backup)' +
      (unnamed
        ? `. This request named no relationship: if ${removed.PrimaryServerName} runs an hvreplica older than this server, upgrade it first; ` +
          'a relationship enabled there before relationship ids existed must then be removed and enabled again on it, as above'
        : ''),
  );
}
