/**
 * `replication resume --resynchronize [--resynchronize-start-time T]` (Resume-VMReplication
 * -Resynchronize): runs the resynchronization of the selected VMs now, in the foreground, or records the
 * start time for the agent. The resync itself is src/agent/resync.ts.
 */
import { AgentError } from '../../../agent/errors.js';
import { RESYNC_STATES, resynchronizeVm } from '../../../agent/resync.js';
import type { CycleReport } from '../../../agent/replicate-vm.js';
import { isWildcard, RelationshipStore, selectVms, type ReplicationState } from '../../../relationship/index.js';
import type { CommandResult } from '../../output.js';
import { formatBytes } from '../../progress.js';
import type { ReplicationArgs } from './command.js';
import { openHostAdapter } from './host.js';
import { replicationView } from './view.js';

const SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000;
/** Hyper-V's Resume-VMReplication states, and Replicating for a forced resync of a healthy VM. */
const RESUMABLE: ReadonlySet<ReplicationState> = new Set<ReplicationState>(['Suspended', 'Error', 'Replicating', ...RESYNC_STATES]);

function invalid(message: string): never {
  throw new AgentError('ERR_INVALID_ARGUMENT', message);
}

export async function resumeResynchronize(args: ReplicationArgs): Promise<CommandResult> {
  if (!args.resynchronize) invalid('--resynchronize-start-time needs --resynchronize');
  if (args['replication-relationship-type'] === 'Extended') invalid('resynchronizing an Extended relationship is not supported here; resume the extended replication on its replica');
  const pattern = args['vm-name']?.trim();
  if (!pattern) invalid('--vm-name is required');
  const stateDir = args['state-dir'];
  const host = openHostAdapter(args);
  const store = new RelationshipStore(stateDir);
  const now = new Date();
  let at: Date | undefined;
  if (args['resynchronize-start-time'] !== undefined) {
    at = new Date(args['resynchronize-start-time']);
    if (Number.isNaN(at.getTime())) invalid(`--resynchronize-start-time "${args['resynchronize-start-time']}" is not an ISO 8601 date`);
    if (at.getTime() <= now.getTime() || at.getTime() > now.getTime() + SEVEN_DAYS_MS) invalid('--resynchronize-start-time must lie in the future, at most 7 days ahead');
  }
  const vms = isWildcard(pattern) ? selectVms(await host.listVms(), pattern) : [await host.getVm(pattern)];
  const out: Record<string, unknown>[] = [];
  const done: CycleReport[] = [];
  for (const vm of vms) {
    const rel = await store.get(vm.id);
    if (!rel) {
      if (isWildcard(pattern)) continue;
      throw new AgentError('ERR_REPLICATION_NOT_ENABLED', `VM '${vm.name}' is not enabled for replication`);
    }
    if (rel.ReplicationMode !== 'Primary') throw new AgentError('ERR_INVALID_STATE', `VM '${vm.name}' is a ${rel.ReplicationMode} here; resynchronize it from its primary server`);
    if (!RESUMABLE.has(rel.ReplicationState)) throw new AgentError('ERR_INVALID_STATE', `replication of '${vm.name}' cannot be resynchronized in state ${rel.ReplicationState}`);
    if (at) {
      // Any resync scheduled before is replaced; the agent starts this one at `at` (agent.ts dueForCycle).
      const next = await store.update(vm.id, (current) => {
        const changed = current && { ...current, ResynchronizeStartTime: at!.toISOString(), ReplicationState: RESYNC_STATES.has(current.ReplicationState) ? current.ReplicationState : ('WaitingForStartResynchronize' as const) };
        return { next: changed, result: changed };
      });
      if (next) out.push(replicationView(next, new Date()));
      continue;
    }
    const report = await resynchronizeVm({ stateDir, host, vm: vm.id });
    done.push(report);
    const after = await store.get(vm.id);
    if (after) out.push({ ...replicationView(after, new Date()), Resynchronization: report });
  }
  const human = at
    ? `Resynchronization of ${out.length} VM(s) scheduled for ${at.toISOString()}; the agent ("hvreplica agent run") starts it then.`
    : done.map((r) => `Resynchronized ${r.VMName}: compared ${formatBytes(r.ComparedBytes ?? 0)}, ${formatBytes(r.ChangedBytes)} differed, sent as ${formatBytes(r.LogBytes)} of log (cycle ${r.Generation}/${r.Sequence}).`).join('\n');
  return { data: out, human };
}
