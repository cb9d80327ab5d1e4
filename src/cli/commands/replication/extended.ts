/**
 * The replication commands for extended replication (hyperv-replica.md §5.7), kept apart from impl.ts,
 * which calls in here: `enable` on a replica VM this host's replica server holds creates the Extended
 * relationship (B→C); `get`/`measure` show it with `--replication-relationship-type Extended`, and on the
 * extended replica server (C) show its ExtendedReplica VMs; suspend/resume/remove/reset-statistics act on
 * it with `--replication-relationship-type Extended`; `resume --continue` re-wires A→B→C after A→B failed
 * over (src/agent/extended-continue.ts).
 */
import {
  enableExtended,
  isExtendedRecord,
  extendedRecords,
  extendedReplicaRelationships,
  extendedView,
  heldReplicas,
  type ExtendedRecord,
} from '../../../agent/extended-relationship.js';
import { forgetExtendedPosition } from '../../../agent/forget-primary-position.js';
import { FailoverStore, transition } from '../../../failover/index.js';
import { isWildcard, nameMatches, RelationshipError, type EnableParameters, type ReplicationRelationship } from '../../../relationship/index.js';
import { FileCertificateStore } from '../../../security/index.js';
import type { ReplicationArgs } from './command.js';

/**
 * Enable on the replica server: the replica VMs the name selects are extended. `exclusive` when an exact
 * name named a replica (the host's own VMs are then not looked at).
 */
export async function enableExtendedReplicas(args: ReplicationArgs, pattern: string, params: EnableParameters, now: Date): Promise<{ records: ReplicationRelationship[]; exclusive: boolean }> {
  const held = await heldReplicas(args['state-dir'], pattern);
  if (held.length === 0) return { records: [], exclusive: false };
  const out: ReplicationRelationship[] = [];
  for (const replica of held) {
    // This host's name as the extended replica sees it: the DNS name of the certificate it connects with.
    const identity = async () => (await new FileCertificateStore(args['state-dir']).credential(args['certificate-thumbprint']!)).dnsNames[0]!;
    // A new relationship starts with a full copy: a position an earlier one left (saved by its last cycle after
    // its removal, or by a removal that failed part-way) is not this one's, and would make its first cycle ask
    // C for content of a relationship C holds nothing of. Only when none is live (enable refuses one).
    if (!(await new FailoverStore(args['state-dir']).get(replica.vmId, 'Extended'))) await forgetExtendedPosition(args['state-dir'], replica.vmId, replica.vmName);
    const record = await enableExtended(args['state-dir'], replica, params, identity, now);
    out.push(extendedView(record));
  }
  return { records: out, exclusive: !isWildcard(pattern) };
}

/**
 * The extended relationships `replication get|measure` adds to the host's own: this host's Extended ones
 * (B, only when asked for with --replication-relationship-type Extended, as Hyper-V does) and the
 * ExtendedReplica VMs its replica server holds (C).
 */
export async function extendedRelationships(args: ReplicationArgs, now: Date): Promise<ReplicationRelationship[]> {
  const out = await extendedReplicaRelationships(args['state-dir'], now);
  if (args['replication-relationship-type'] === 'Extended') out.push(...(await extendedRecords(args['state-dir'])).map(extendedView));
  return out;
}

/**
 * A `replication` change (suspend, resume, remove, reset-statistics) applied to an Extended record: the
 * relationship part takes the new settings and statistics, and a new state goes through the failover state
 * machine (which refuses what Hyper-V refuses, naming the states needed).
 */
function applyChange(record: ExtendedRecord, rel: ReplicationRelationship, now: Date): ExtendedRecord {
  let next: ExtendedRecord = record;
  if (rel.ReplicationState !== record.state) {
    const command = rel.ReplicationState === 'Suspended' ? 'suspend' : 'resume';
    next = transition(record, command, `${command === 'suspend' ? 'Suspend' : 'Resume'}-VMReplication -ReplicationRelationshipType Extended`, now);
  }
  return { ...next, Relationship: { ...rel, ReplicationState: next.state } };
}

/** An exact name with no Extended relationship on this host: for a removal there is simply none to remove. */
function noExtended(pattern: string, removing: boolean): RelationshipError {
  return new RelationshipError(
    'ERR_REPLICATION_NOT_ENABLED',
    removing
      ? `VM '${pattern}' has no extended replication from this host, so there is none to remove (removed already, or never enabled here). ` +
          `An Extended relationship is on the replica server that extends the VM (B of A→B→C); ` +
          `"hvreplica replication get --vm-name ${pattern} --replication-relationship-type Extended" there lists it`
      : `VM '${pattern}' has no extended replication from this host; enable it on the replica server with "hvreplica replication enable --vm-name ${pattern} --replica-server-name <extended replica server> ..."`,
  );
}

/**
 * Suspend, resume, remove or reset-statistics of the Extended relationship of the VMs `--vm-name` selects
 * on this host; `change` (impl.ts's, on the relationship) returns undefined to remove it (`removing`: what
 * the refusal of an exact name without one says). An exact name without one is refused.
 */
export async function actOnExtended(
  args: ReplicationArgs,
  change: (rel: ReplicationRelationship, now: Date) => ReplicationRelationship | undefined,
  removing = false,
): Promise<ReplicationRelationship[]> {
  const pattern = args['vm-name']?.trim() ?? '';
  const stateDir = args['state-dir'];
  const store = new FailoverStore(stateDir);
  const now = new Date();
  const selected = (await extendedRecords(stateDir)).filter((r) => nameMatches(pattern, r.vmName));
  if (selected.length === 0 && !isWildcard(pattern)) throw noExtended(pattern, removing);
  const out: ReplicationRelationship[] = [];
  for (const record of selected) {
    const result = await store.update(
      record.vmId,
      (current) => {
        if (!isExtendedRecord(current)) return { next: current, result: undefined };
        const rel = change(extendedView(current), now);
        const next = rel === undefined ? undefined : applyChange(current, rel, now);
        return { next, result: next ?? current };
      },
      'Extended',
    );
    if (result) out.push(extendedView(result));
    // A removed relationship leaves no position behind: enabling it again starts with a full copy. Under the
    // extended cycle lock, after a cycle in flight stopped (it would save the position again on its way out).
    if (result && !(await store.get(record.vmId, 'Extended'))) await forgetExtendedPosition(stateDir, record.vmId, record.vmName);
  }
  return out;
}
