/**
 * The replication state machine of one relationship: Hyper-V's VMReplicationState and VMReplicationMode
 * names (hyperv-replica.md §3.5/§3.6), one transition table, and ONE function that moves a relationship
 * along it. Every change of state or mode goes through `transition` (or `enterError`, the only way into
 * Error), which refuses what the table does not allow with ERR_INVALID_STATE and a message naming the
 * states needed and the commands that reach them, logs the change, and appends it to the history.
 */
import { logger } from '../logging/logger.js';
import type { ReplicationMode, ReplicationState } from '../relationship/types.js';
import { FailoverError } from './errors.js';

export { REPLICATION_STATES, type ReplicationMode, type ReplicationState } from '../relationship/types.js';

const log = logger('failover');

/** What the operations ask of the machine; one command may apply from several states. */
export type FailoverCommand =
  | 'enable'
  | 'startInitialReplication'
  | 'completeInitialReplication'
  | 'suspend'
  | 'resume'
  | 'startResynchronize'
  | 'completeResynchronize'
  | 'prepareFailover'
  | 'cancelPrepare'
  | 'startFailover'
  | 'failoverReady'
  | 'cancelFailover'
  | 'completeFailover'
  | 'reverse'
  | 'asReplica'
  | 'continueExtended';

/** The cmdlet (and CLI command) an administrator runs to issue each command; used in refusals. */
export const COMMAND_LABELS: Record<FailoverCommand, string> = {
  enable: 'Enable-HvrVMReplication',
  startInitialReplication: 'Start-HvrVMInitialReplication (hvreplica replication start)',
  completeInitialReplication: 'a completed initial replication',
  suspend: 'Suspend-HvrVMReplication',
  resume: 'Resume-HvrVMReplication',
  startResynchronize: 'Resume-HvrVMReplication -Resynchronize',
  completeResynchronize: 'a completed resynchronization',
  prepareFailover: 'Start-HvrVMFailover -Prepare (on the primary, VM off)',
  cancelPrepare: 'Stop-HvrVMFailover (on the primary)',
  startFailover: 'Start-HvrVMFailover (on the replica)',
  failoverReady: 'a completed Start-HvrVMFailover',
  cancelFailover: 'Stop-HvrVMFailover (on the replica)',
  completeFailover: 'Complete-HvrVMFailover',
  reverse: 'Set-HvrVMReplication -Reverse (on the failed-over replica)',
  asReplica: 'Set-HvrVMReplication -AsReplica (on the old primary)',
  continueExtended: 'Resume-HvrVMReplication -Continue',
};

type Modes = readonly ReplicationMode[];
const PRIMARY: Modes = ['Primary'];
const REPLICAS: Modes = ['Replica', 'ExtendedReplica'];
const REPLICATING: Modes = ['Primary', 'Replica', 'ExtendedReplica'];

export interface TransitionRule {
  command: FailoverCommand;
  modes: Modes;
  from: readonly ReplicationState[];
  to: ReplicationState;
  /** The mode after the transition, when it changes (reverse, as-replica, continue). */
  toMode?: ReplicationMode;
}

/** The whole machine. Hyper-V's rules per cmdlet: hyperv-replica.md §2.9–2.15 and §5.6–5.7. */
export const TRANSITIONS: readonly TransitionRule[] = [
  { command: 'enable', modes: PRIMARY, from: ['Disabled'], to: 'ReadyForInitialReplication' },
  { command: 'enable', modes: REPLICAS, from: ['Disabled'], to: 'WaitingForInitialReplication' },
  { command: 'startInitialReplication', modes: PRIMARY, from: ['ReadyForInitialReplication'], to: 'InitialReplicationInProgress' },
  { command: 'completeInitialReplication', modes: PRIMARY, from: ['InitialReplicationInProgress'], to: 'Replicating' },
  { command: 'completeInitialReplication', modes: REPLICAS, from: ['WaitingForInitialReplication', 'InitialReplicationInProgress'], to: 'Replicating' },
  { command: 'suspend', modes: REPLICATING, from: ['InitialReplicationInProgress', 'WaitingForInitialReplication', 'Replicating'], to: 'Suspended' },
  { command: 'suspend', modes: REPLICATING, from: ['Resynchronizing'], to: 'ResynchronizeSuspended' },
  { command: 'resume', modes: REPLICATING, from: ['Suspended', 'Error'], to: 'Replicating' },
  { command: 'resume', modes: REPLICATING, from: ['ResynchronizeSuspended'], to: 'Resynchronizing' },
  { command: 'startResynchronize', modes: REPLICATING, from: ['WaitingForStartResynchronize', 'Suspended', 'Error', 'ResynchronizeSuspended'], to: 'Resynchronizing' },
  { command: 'completeResynchronize', modes: REPLICATING, from: ['Resynchronizing'], to: 'Replicating' },
  { command: 'prepareFailover', modes: PRIMARY, from: ['Replicating'], to: 'PreparedForFailover' },
  { command: 'cancelPrepare', modes: PRIMARY, from: ['PreparedForFailover'], to: 'Replicating' },
  // Start-VMFailover on a replica flips Suspended/Resynchronizing back to Replicating first (§2.13).
  { command: 'startFailover', modes: REPLICAS, from: ['Replicating', 'Suspended', 'Resynchronizing'], to: 'RecoveryInProgress' },
  { command: 'failoverReady', modes: REPLICAS, from: ['RecoveryInProgress'], to: 'FailedOverWaitingCompletion' },
  { command: 'cancelFailover', modes: REPLICAS, from: ['FailedOverWaitingCompletion', 'RecoveryInProgress'], to: 'Replicating' },
  { command: 'completeFailover', modes: REPLICAS, from: ['FailedOverWaitingCompletion'], to: 'FailedOver' },
  // The reversed relationship starts by sending what differs, as an initial replication against a copy.
  { command: 'reverse', modes: REPLICAS, from: ['FailedOver'], to: 'InitialReplicationInProgress', toMode: 'Primary' },
  {
    command: 'asReplica',
    modes: PRIMARY,
    from: ['ReadyForInitialReplication', 'Replicating', 'PreparedForFailover', 'Suspended', 'Error', 'WaitingForStartResynchronize'],
    to: 'WaitingForInitialReplication',
    toMode: 'Replica',
  },
  // Resume-VMReplication -Continue after A→B failed over: B sends to C, C's VM becomes B's plain replica.
  { command: 'continueExtended', modes: ['Replica'], from: ['FailedOver'], to: 'Replicating', toMode: 'Primary' },
  { command: 'continueExtended', modes: ['ExtendedReplica'], from: ['Replicating', 'Suspended'], to: 'Replicating', toMode: 'Replica' },
];

export interface TransitionEntry {
  from: ReplicationState;
  to: ReplicationState;
  fromMode: ReplicationMode;
  toMode: ReplicationMode;
  command: FailoverCommand | 'error';
  /** ISO 8601 UTC. */
  at: string;
  reason: string;
}

/** What the machine reads and writes of a relationship record. */
export interface StateCarrier {
  vmName: string;
  mode: ReplicationMode;
  state: ReplicationState;
  history: TransitionEntry[];
  /** The message of the failure that put the relationship into Error. */
  errorMessage?: string;
}

/** The rule `command` follows from the carrier's mode and state, or undefined when it may not run. */
export function ruleFor(carrier: Pick<StateCarrier, 'mode' | 'state'>, command: FailoverCommand): TransitionRule | undefined {
  return TRANSITIONS.find((r) => r.command === command && r.modes.includes(carrier.mode) && r.from.includes(carrier.state));
}

export function canTransition(carrier: Pick<StateCarrier, 'mode' | 'state'>, command: FailoverCommand): boolean {
  return ruleFor(carrier, command) !== undefined;
}

/** Why `command` is refused: which states (in which mode) it needs, and what gets there. */
export function refusal(carrier: Pick<StateCarrier, 'vmName' | 'mode' | 'state'>, command: FailoverCommand): FailoverError {
  const rules = TRANSITIONS.filter((r) => r.command === command);
  const label = COMMAND_LABELS[command];
  const modes = [...new Set(rules.flatMap((r) => r.modes))];
  if (!modes.includes(carrier.mode)) {
    return new FailoverError(
      'ERR_INVALID_STATE',
      `${label} is not valid for VM '${carrier.vmName}': it is a ${carrier.mode} here, and this needs a ${modes.join(' or ')}`,
    );
  }
  const needed = [...new Set(rules.filter((r) => r.modes.includes(carrier.mode)).flatMap((r) => r.from))];
  const ways = needed
    .map((state) => {
      const into = TRANSITIONS.filter((r) => r.to === state && (r.toMode ? r.toMode === carrier.mode : r.modes.includes(carrier.mode)));
      return into.length > 0 ? `${state} (reached by ${[...new Set(into.map((r) => COMMAND_LABELS[r.command]))].join(', ')})` : state;
    })
    .join('; ');
  return new FailoverError(
    'ERR_INVALID_STATE',
    `${label} is not valid for VM '${carrier.vmName}' in replication state ${carrier.state} (${carrier.mode}); it needs ${ways}`,
  );
}

function entry(carrier: StateCarrier, to: ReplicationState, toMode: ReplicationMode, command: TransitionEntry['command'], reason: string, now: Date): TransitionEntry {
  return { from: carrier.state, to, fromMode: carrier.mode, toMode, command, at: now.toISOString(), reason };
}

/**
 * Applies `command` to a copy of `carrier` and returns it; throws ERR_INVALID_STATE (with what is needed)
 * when the table has no rule for it. A rule that lands on the same state and mode changes nothing and
 * records nothing, so retried operations stay idempotent.
 */
export function transition<T extends StateCarrier>(carrier: T, command: FailoverCommand, reason: string, now: Date = new Date()): T {
  const rule = ruleFor(carrier, command);
  if (!rule) throw refusal(carrier, command);
  const toMode = rule.toMode ?? carrier.mode;
  if (rule.to === carrier.state && toMode === carrier.mode) return carrier;
  const next: T = { ...carrier, state: rule.to, mode: toMode, history: [...carrier.history, entry(carrier, rule.to, toMode, command, reason, now)] };
  delete next.errorMessage;
  log.info('replication state changed', { vm: carrier.vmName, command, from: carrier.state, to: rule.to, fromMode: carrier.mode, toMode, reason });
  return next;
}

/** The only way into Error: keeps the cause so health and Get-HvrVMReplication can show it. */
export function enterError<T extends StateCarrier>(carrier: T, error: unknown, now: Date = new Date()): T {
  if (carrier.state === 'Disabled') throw refusal(carrier, 'resume');
  const message = error instanceof Error ? error.message : String(error);
  if (carrier.state === 'Error' && carrier.errorMessage === message) return carrier;
  log.warn('replication entered the error state', { vm: carrier.vmName, from: carrier.state, error: message });
  return { ...carrier, state: 'Error', errorMessage: message, history: [...carrier.history, entry(carrier, 'Error', carrier.mode, 'error', message, now)] };
}
