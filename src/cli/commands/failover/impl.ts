/**
 * Start-, Complete- and Stop-HvrVMFailover over this host's state directory, through the failover library
 * (src/failover). The library's refusals (ERR_INVALID_STATE naming the states needed) reach the user as
 * they are. On a replica host the records are the replica server's (same state directory). A prepare on
 * a primary replicating over the network sends its last cycle to the replica server; one set up by the
 * in-process library needs the replica's state directory (--peer-state-dir) and is refused without it.
 */
import {
  canTransition,
  completeFailover,
  FailoverError,
  FailoverSite,
  prepareFailover,
  refusal,
  startFailover,
  startTestFailover,
  stopFailover,
  type FailoverRecord,
  type PointChoice,
} from '../../../failover/index.js';
import { prepareOverNetwork } from '../../../failover/network.js';
import { vmOnHost } from '../../../failover/record.js';
import { CliError } from '../../cli-error.js';
import { ExitCode } from '../../exit-codes.js';
import type { CommandResult } from '../../output.js';
import type { FailoverArgs } from './command.js';
import { hostVm, localSite, selectRecords, type Selected } from './select.js';
import { recordHealth, replicatedVmView, testVmView } from './view.js';

function usage(message: string): never {
  throw new CliError('ERR_INVALID_ARGUMENT', message, ExitCode.Usage);
}

/** The other host of a record's relationship, when its state directory was given. */
function peerSite(args: FailoverArgs, record: FailoverRecord): FailoverSite | undefined {
  const dir = args['peer-state-dir'];
  return dir === undefined ? undefined : new FailoverSite({ name: record.peerServer, stateDir: dir });
}

/** The replicated VM as it is now, re-read after the operation so the result shows the new state. */
async function currentView(site: FailoverSite, selected: Selected): Promise<Record<string, unknown>> {
  const record = (await site.store.get(selected.record.vmId)) ?? selected.record;
  const relationship = selected.relationship ? await site.store.relationship(record.vmId) : undefined;
  return replicatedVmView(record, await hostVm(site, vmOnHost(record)), recordHealth(record, relationship, new Date()));
}

function pointChoice(value: string | undefined): PointChoice {
  const text = value?.trim();
  if (text === undefined || text.toLowerCase() === 'latest') return 'latest';
  if (text.toLowerCase() === 'application-consistent') return 'application-consistent';
  if (!text) usage('--recovery-point needs a recovery point id (hvreplica recovery-point list), latest or application-consistent');
  return text;
}

async function prepare(args: FailoverArgs, site: FailoverSite, selected: Selected): Promise<void> {
  const { record } = selected;
  const peer = peerSite(args, record);
  // Replicated over the network (`replication enable`): the last cycle goes to the replica server.
  if (!peer && selected.relationship) {
    await prepareOverNetwork(site, site.host, record.vmId);
    return;
  }
  if (!peer) {
    // Refuse only what truly needs the replica: a wrong state is reported as such first.
    if (!canTransition(record, 'prepareFailover')) throw refusal(record, 'prepareFailover');
    throw new CliError(
      'ERR_NOT_SUPPORTED',
      `a planned failover of VM '${record.vmName}' ships its last changes to replica server ${record.peerServer}, which this command cannot reach from here; ` +
        `shut the VM down, let one more replication cycle complete, then run 'hvreplica failover start --vm-name ${record.vmName}' on ${record.peerServer} (an unplanned failover to the latest point loses nothing once that cycle is there)`,
      ExitCode.NotSupported,
    );
  }
  await prepareFailover(site, peer, record.vmId);
}

/** Runs `act` on each selected VM in turn (one failing VM stops the call: the module sends one name per call). */
async function forEachSelected(args: FailoverArgs, act: (site: FailoverSite, selected: Selected) => Promise<Record<string, unknown>>): Promise<CommandResult> {
  const site = localSite(args['state-dir']);
  const out: Record<string, unknown>[] = [];
  for (const selected of await selectRecords(site, args['vm-name'])) out.push(await act(site, selected));
  return { data: out };
}

/**
 * A record built from a relationship no failover operation touched yet is not stored, so the library
 * (which reads stored records) would not find it: what it would refuse is refused here, the same way.
 */
function refuseUnstored(selected: Selected, command: 'startFailover' | 'completeFailover' | 'stop' | 'test'): void {
  if (!selected.adopted) return;
  const { record } = selected;
  if (command === 'test') throw new FailoverError('ERR_INVALID_STATE', `Start-HvrVMFailover -AsTest is only valid on a replica; VM '${record.vmName}' is a ${record.mode} on this host`);
  if (command === 'stop') {
    throw new FailoverError(
      'ERR_INVALID_STATE',
      `Stop-HvrVMFailover has nothing to stop for VM '${record.vmName}' in state ${record.state} (${record.mode}): it needs a running test failover, or FailedOverWaitingCompletion/RecoveryInProgress on a replica, or PreparedForFailover on a primary`,
    );
  }
  throw refusal(record, command);
}

export function failoverStart(args: FailoverArgs): Promise<CommandResult> {
  if (args.prepare && (args['as-test'] || args['recovery-point'] !== undefined)) {
    usage('--prepare runs on the primary and takes no --as-test or --recovery-point (those belong to the replica)');
  }
  const point = pointChoice(args['recovery-point']);
  return forEachSelected(args, async (site, selected) => {
    const vmId = selected.record.vmId;
    if (!args.prepare) refuseUnstored(selected, args['as-test'] ? 'test' : 'startFailover');
    if (args['as-test']) return testVmView((await startTestFailover(site, vmId, { point })).vm);
    if (args.prepare) {
      await prepare(args, site, selected);
    } else {
      const primary = peerSite(args, selected.record);
      await startFailover(site, vmId, { point, ...(primary ? { primary } : {}) });
    }
    return currentView(site, selected);
  });
}

export function failoverComplete(args: FailoverArgs): Promise<CommandResult> {
  return forEachSelected(args, async (site, selected) => {
    refuseUnstored(selected, 'completeFailover');
    await completeFailover(site, selected.record.vmId);
    return currentView(site, selected);
  });
}

export function failoverStop(args: FailoverArgs): Promise<CommandResult> {
  return forEachSelected(args, async (site, selected) => {
    refuseUnstored(selected, 'stop');
    const { outcome } = await stopFailover(site, selected.record.vmId);
    return { ...(await currentView(site, selected)), StoppedOperation: outcome };
  });
}
