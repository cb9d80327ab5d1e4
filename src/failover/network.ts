/**
 * Failover steps of a VM replicated over the network (`replication enable` + the agent / `hvreplica
 * replicate` to a replica server), where the other host is reached through the replica server protocol
 * rather than through its files:
 *   prepareOverNetwork   Start-VMFailover -Prepare on the primary (VM off): the last changes go through the
 *                        normal network path, marked as planned, then the primary is PreparedForFailover
 *   asReplicaOverNetwork Set-VMReplication -AsReplica on the old primary (VM off): its disks become the
 *                        content of replica storage registered with ITS replica server, so that server
 *                        accepts the reversed stream from the peer → Replica / WaitingForInitialReplication
 *   reverseOverNetwork   Set-VMReplication -Reverse on the failed-over replica: it becomes the primary of a
 *                        relationship towards the old primary, sends only the blocks whose hashes differ
 *                        (src/agent/hash-sync.ts) and leaves the Replicator's state so that the agent /
 *                        `hvreplica replicate` continue with deltas → Replicating on both sides
 * The replica side's records are the replica server's (src/replica/replica-records.ts), so failover on the
 * replica host runs the ordinary library operations (failover.ts, test-failover.ts) on them.
 */
import { lookup } from 'node:dns/promises';
import { join } from 'node:path';
import { hashSyncVm, type HashSyncVmResult } from '../agent/hash-sync.js';
import { primaryStateFile, spoolDir } from '../agent/paths.js';
import { afterSuccess } from '../agent/relationship-updates.js';
import { credentialOf, definitionOf, endpointOf, replicateVm, type CycleReport } from '../agent/replicate-vm.js';
import type { HostAdapter } from '../host/host-adapter.js';
import { logger } from '../logging/logger.js';
import { enableRelationship } from '../relationship/validation.js';
import { vmForReplication } from '../relationship/vm-selection.js';
import type { ReplicationRelationship } from '../relationship/types.js';
import { findAuthorization } from '../replica/authorization.js';
import { writeFileAtomic } from '../replica/atomic-file.js';
import { ReplicaConfigStore } from '../replica/config-store.js';
import { DEFINITION_FILE } from '../replica/replica-vms.js';
import { FileCertificateStore } from '../security/index.js';
import { pathExists } from '../util/path-exists.js';
import { TransportError } from '../transport/errors.js';
import { FailoverError } from './errors.js';
import { isHostErrorCode } from './host-errors.js';
import { completeFailover } from './failover.js';
import { finishHeldChainIfOff } from './held-chain.js';
import { recordOfRelationship, type FailoverRecord } from './record.js';
import { setAsReplica } from './reverse.js';
import type { FailoverSite } from './site.js';
import { canTransition, refusal, transition } from './state.js';
import { haltExtended } from './extended.js';

const log = logger('failover');

/**
 * Start-VMFailover -Prepare for a VM whose relationship `replication enable` made. `host` is the host
 * adapter the agent replicates the VM from (its disks are read for the last cycle).
 */
export async function prepareOverNetwork(site: FailoverSite, host: HostAdapter, vmId: string): Promise<{ record: FailoverRecord; cycle: CycleReport }> {
  const rel = await site.store.relationship(vmId);
  if (!rel) throw new FailoverError('ERR_REPLICATION_NOT_ENABLED', `VM ${vmId} has no replication relationship on this host; enable replication first`);
  const vm = await host.getVm(vmId);
  const adopt = (r: ReplicationRelationship) => recordOfRelationship(r, vm.configuration);
  const record = (await site.store.get(vmId)) ?? adopt(rel);
  if (!canTransition(record, 'prepareFailover')) throw refusal(record, 'prepareFailover');
  if (vm.state !== 'off') {
    throw new FailoverError('ERR_INVALID_STATE', `VM '${vm.name}' is ${vm.state}; a planned failover needs it off (Stop-VM), so that no change is left behind`);
  }
  let cycle: CycleReport;
  try {
    cycle = await replicateVm({ stateDir: site.options.stateDir, host, vm: vmId, planned: true });
  } catch (error) {
    if (error instanceof TransportError && (error.code === 'ERR_CONNECTION' || error.retryable)) {
      throw new TransportError(
        error.code,
        `cannot prepare the planned failover of VM '${vm.name}': the replica server ${rel.ReplicaServerName}:${rel.ReplicaServerPort} cannot be reached (${error.message}). ` +
          `Nothing changed: the VM stays off and ${record.state}. Retry when the replica server runs, or fail over on the replica without a prepare (unplanned, to its latest point)`,
        false,
        error.status,
      );
    }
    throw error;
  }
  const next = await site.store.modifyAdopting(vmId, adopt, (r) =>
    transition(r, 'prepareFailover', `planned failover prepared: cycle ${cycle.Generation}/${cycle.Sequence} holds every change and ${rel.ReplicaServerName} has it`, site.clock()),
  );
  log.info('planned failover prepared over the network', { vm: vm.name, replica: rel.ReplicaServerName, generation: cycle.Generation, sequence: cycle.Sequence });
  return { record: next, cycle };
}

/**
 * Set-VMReplication -AsReplica on the old primary (VM off). `allowedPrimaryServer` is the name the new
 * primary presents (Hyper-V's -AllowedPrimaryServer; default: the relationship's replica server name).
 * This host's replica server must be enabled and hold an authorization entry admitting it: the reversed
 * stream arrives through that server, into the storage the entry's location names.
 */
export async function asReplicaOverNetwork(site: FailoverSite, host: HostAdapter, vmId: string, allowedPrimaryServer?: string): Promise<FailoverRecord> {
  const rel = await site.store.relationship(vmId);
  if (!rel) throw new FailoverError('ERR_REPLICATION_NOT_ENABLED', `VM ${vmId} has no replication relationship on this host; nothing to make a replica of`);
  const existing = await site.store.get(vmId);
  // Retried after a crash past the switch (the record says so already, the storage and its definition are
  // complete): what may be left is naming the new primary, the last step.
  if (existing?.mode === 'Replica' && existing.state === 'WaitingForInitialReplication') {
    const named = (allowedPrimaryServer ?? existing.peerServer).trim().toLowerCase();
    return existing.peerServer === named ? existing : site.store.modify(vmId, (r) => ({ ...r, peerServer: named }));
  }
  const peer = (allowedPrimaryServer ?? rel.ReplicaServerName).trim().toLowerCase();
  const vm = await host.getVm(vmId).catch(async (error: unknown) => {
    if (isHostErrorCode(error, 'ERR_NOT_FOUND') && existing && (await definedBeforeTheVmWent(site, vmId))) return undefined;
    throw error;
  });
  // Retried after a crash once the old VM went, before the record switched: the storage and the definition were
  // complete before it went (setAsReplica), so what is left is the switch (setAsReplica finds the VM gone and
  // its content in the storage) and naming the new primary.
  if (!vm) {
    await setAsReplica(site, vmId);
    return site.store.modify(vmId, (r) => ({ ...r, peerServer: peer }));
  }
  const adopt = (r: ReplicationRelationship) => recordOfRelationship(r, vm.configuration);
  const record = existing ?? adopt(rel);
  if (!canTransition(record, 'asReplica')) throw refusal(record, 'asReplica');
  const server = await new ReplicaConfigStore(site.options.stateDir).load();
  if (!server.ReplicationEnabled) {
    throw new FailoverError(
      'ERR_INVALID_STATE',
      `this host's replica server is not enabled, so it cannot receive VM '${vm.name}' from ${peer}; run "hvreplica server set --replication-enabled=true --allowed-authentication-type Certificate --certificate-thumbprint <thumbprint>" and start it ("hvreplica server run" or the service)`,
    );
  }
  const entry = findAuthorization(server.AuthorizationEntries, [peer]);
  if (!entry) {
    throw new FailoverError(
      'ERR_INVALID_STATE',
      `no authorization entry of this host's replica server admits ${peer}, which will send VM '${vm.name}' back; run "hvreplica auth add --allowed-primary-server ${peer} --replica-storage-location <folder> --trust-group <group>" (or name the server it connects as with --allowed-primary-server)`,
    );
  }
  if (vm.state !== 'off') throw new FailoverError('ERR_INVALID_STATE', `VM '${vm.name}' is ${vm.state} on this host; turn it off before making this host its replica`);
  const definition = definitionOf(vm, rel);
  // Registered first: from here on the site's storage path is the server's folder for the VM.
  const registered = await site.registry.open(vmId, entry, peer);
  await site.store.modifyAdopting(vmId, adopt, (r) => r);
  // The definition beside the storage, as the server keeps it for the VMs it receives: written with the
  // storage's content, while the VM is still here to describe it (a retry after the switch has none).
  await setAsReplica(site, vmId, (folder) => writeFileAtomic(join(folder, DEFINITION_FILE), `${JSON.stringify(definition, null, 2)}\n`));
  const next = await site.store.modify(vmId, (r) => ({ ...r, peerServer: peer }));
  log.info('old primary is now a replica over the network', { vm: vm.name, newPrimary: peer, storage: registered.Path });
  return next;
}

/** Whether this host's replica server registered the VM and its folder holds the VM's definition (-AsReplica wrote both before the old VM went). */
async function definedBeforeTheVmWent(site: FailoverSite, vmId: string): Promise<boolean> {
  const registered = await site.registry.get(vmId);
  return registered !== undefined && (await pathExists(join(registered.Path, DEFINITION_FILE)));
}

/**
 * The server a reverse sends to, checked to resolve on this host. The default, the old primary's name as
 * its certificate carries it (record.peerServer, what this replica server saw), is its identity, not
 * necessarily a name this host reaches it by (a lab's certificate names, two roles on one machine): an
 * unresolvable name is refused here, naming the option that gives the right one.
 */
async function reverseTarget(given: string | undefined, record: FailoverRecord): Promise<string> {
  const name = (given ?? record.peerServer).trim().toLowerCase();
  try {
    await lookup(name);
    return name;
  } catch (error) {
    const reason = (error as { code?: string }).code ?? String(error);
    const what = given === undefined ? `the old primary's name '${name}', as its certificate names it and --reverse uses by default,` : `--replica-server-name '${name}'`;
    throw new FailoverError(
      'ERR_INVALID_ARGUMENT',
      `${what} does not resolve on this host (${reason}); give the name this host reaches the old primary's replica server by with --replica-server-name ` +
        `(Set-HvrVMReplication -ReplicaServerName), e.g. its DNS name, or 'localhost' when both run on this machine. VM '${record.vmName}' was left as it was`,
    );
  }
}

export interface ReverseParameters {
  /** Default: the old primary (the record's peer, as this replica server saw it); it must resolve on this host. */
  replicaServerName?: string;
  /** Default: the port of an existing relationship, else this host's replica server port. */
  replicaServerPort?: number;
  /** This host's certificate; Hyper-V asks for it again for certificate authentication. */
  certificateThumbprint?: string;
}

/**
 * Set-VMReplication -Reverse on the failed-over replica: completes a pending failover, creates (or turns
 * round) the relationship towards the old primary, which must have been made a replica there
 * (-AsReplica), sends only what differs and leaves both sides Replicating.
 */
export async function reverseOverNetwork(site: FailoverSite, host: HostAdapter, vmId: string, parameters: ReverseParameters): Promise<{ record: FailoverRecord; relationship: ReplicationRelationship; sync: HashSyncVmResult }> {
  const stateDir = site.options.stateDir;
  let record = await site.store.require(vmId);
  // Before anything changes: a name that cannot be reached would fail only after the failover completed.
  const target = await reverseTarget(parameters.replicaServerName, record);
  if (record.state === 'FailedOverWaitingCompletion' && record.mode !== 'Primary') record = await completeFailover(site, vmId);
  // Off, the VM leaves a chain it still held before it replicates from its final disks; running, it goes on.
  record = await finishHeldChainIfOff(site, record);
  // A reverse interrupted after the switch resumes with the comparison, which is safe to repeat.
  const resuming = record.mode === 'Primary' && record.state === 'InitialReplicationInProgress';
  if (!resuming && !canTransition(record, 'reverse')) throw refusal(record, 'reverse');
  const existing = await site.store.relationship(vmId);
  const thumbprint = parameters.certificateThumbprint ?? existing?.CertificateThumbprint ?? undefined;
  if (!thumbprint) {
    throw new FailoverError(
      'ERR_INVALID_ARGUMENT',
      `reversing VM '${record.vmName}' uses certificate authentication: give this host's certificate again with --certificate-thumbprint (hvreplica cert list)`,
    );
  }
  const credential = await new FileCertificateStore(stateDir).credential(thumbprint);
  const identity = credential.dnsNames[0]!;
  const port = parameters.replicaServerPort ?? existing?.ReplicaServerPort ?? (await new ReplicaConfigStore(stateDir).load()).CertificateAuthenticationPort;
  const vm = await host.getVm(vmId);
  const now = site.clock();
  // The relationship of the new direction: Hyper-V's defaults for a new one, this VM's disks.
  const fresh = enableRelationship({ ...vmForReplication(vm), isReplica: false }, {
    ReplicaServerName: target,
    ReplicaServerPort: port,
    AuthenticationType: 'Certificate',
    CertificateThumbprint: thumbprint,
    ReplicationFrequencySec: record.replicationFrequencySec,
    RecoveryHistory: record.recoveryHistory,
  }, { primaryServerName: identity, now });
  const base: ReplicationRelationship = existing
    ? { ...existing, ReplicaServerName: target, CurrentReplicaServerName: target, ReplicaServerPort: port, CertificateThumbprint: thumbprint, PrimaryServerName: identity, ReplicatedDisks: fresh.ReplicatedDisks, ExcludedDisks: fresh.ExcludedDisks }
    : fresh;
  // Reversing towards the old primary halts replication onward to an extended replica (§5.7).
  await haltExtended(site, vmId, `replication reversed towards ${target}`);
  const switched = resuming
    ? record
    : { ...transition(record, 'reverse', `replication reversed towards ${target}`, now), localServer: identity, peerServer: target, lastReplicationTime: null, lastReplicationType: 'None' as const };
  await site.store.embed(vmId, base, switched);
  const relationship = (await site.store.relationship(vmId))!;
  let sync: HashSyncVmResult;
  const started = site.clock();
  try {
    sync = await hashSyncVm({
      host,
      vm: vmId,
      stateFile: primaryStateFile(stateDir, vmId),
      replica: { endpoint: endpointOf(relationship), credential: await credentialOf(stateDir, relationship), spoolDir: spoolDir(stateDir) },
    });
  } catch (error) {
    if (error instanceof TransportError && error.code === 'ERR_INVALID_STATE') {
      throw new FailoverError(
        'ERR_INVALID_STATE',
        `${target} does not take VM '${record.vmName}' back: ${error.message}. Run "hvreplica replication set --as-replica --vm-name ${record.vmName}" on ${target} first (VM off there), then reverse again`,
      );
    }
    throw error;
  }
  const at = site.clock();
  const latencySec = (at.getTime() - started.getTime()) / 1000;
  const monitoring = await new ReplicaConfigStore(stateDir).load();
  const next = await site.store.modify(vmId, (r) => ({
    ...transition(r, 'completeInitialReplication', `reverse replication in step: ${sync.changedBytes} differing bytes sent as ${sync.logBytes} bytes of log`, at),
    lastReplicationTime: at.toISOString(),
    lastReplicationType: 'Regular' as const,
  }));
  // The comparison counts as the relationship's initial replication (its size: the bytes that went).
  await site.store.relationships.update(vmId, (rel) => ({
    next: rel && afterSuccess(rel, { kind: 'initial', consistency: 'crash', logBytes: sync.logBytes, latencySec }, at, monitoring),
    result: undefined,
  }));
  log.info('replication reversed over the network', { vm: record.vmName, replica: target, changedBytes: sync.changedBytes, logBytes: sync.logBytes, comparedBytes: sync.comparedBytes });
  return { record: next, relationship: (await site.store.relationship(vmId))!, sync };
}
