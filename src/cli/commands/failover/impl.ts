/**
 * Start-, Complete- and Stop-HvrVMFailover over this host's state directory, through the failover library
 * (src/failover). The library's refusals (ERR_INVALID_STATE naming the states needed) reach the user as
 * they are. Steps that need the other host run only when its state directory is on this machine
 * (--peer-state-dir); otherwise they are refused with ERR_NOT_SUPPORTED and the way to proceed.
 */
import {
  canTransition,
  completeFailover,
  FailoverSite,
  prepareFailover,
  refusal,
  startFailover,
  startTestFailover,
  stopFailover,
  type FailoverRecord,
  type PointChoice,
} from '../../../failover/index.js';
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
  const record = await site.store.require(selected.record.vmId);
  const relationship = selected.relationship ? await site.store.relationship(record.vmId) : undefined;
  return replicatedVmView(record, await hostVm(site, record.vmId), recordHealth(record, relationship, new Date()));
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

export function failoverStart(args: FailoverArgs): Promise<CommandResult> {
  if (args.prepare && (args['as-test'] || args['recovery-point'] !== undefined)) {
    usage('--prepare runs on the primary and takes no --as-test or --recovery-point (those belong to the replica)');
  }
  const point = pointChoice(args['recovery-point']);
  return forEachSelected(args, async (site, selected) => {
    const vmId = selected.record.vmId;
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
    await completeFailover(site, selected.record.vmId);
    return currentView(site, selected);
  });
}

export function failoverStop(args: FailoverArgs): Promise<CommandResult> {
  return forEachSelected(args, async (site, selected) => {
    const { outcome } = await stopFailover(site, selected.record.vmId);
    return { ...(await currentView(site, selected)), StoppedOperation: outcome };
  });
}
