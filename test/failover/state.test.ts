/** The state machine alone: the table, refusals that say what is needed, history, and the error state. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canTransition, enterError, REPLICATION_STATES, transition, TRANSITIONS, type StateCarrier } from '../../src/failover/state.js';
import { isFailoverError } from '../../src/failover/errors.js';

const at = new Date('2026-11-25T12:00:00Z');
const carrier = (mode: StateCarrier['mode'], state: StateCarrier['state']): StateCarrier => ({ vmName: 'web01', mode, state, history: [] });

describe('failover state machine', () => {
  it('walks a planned failover and its reversal, recording each step', () => {
    let primary = transition(carrier('Primary', 'Disabled'), 'enable', 'enabled', at);
    primary = transition(primary, 'startInitialReplication', 'ir', at);
    primary = transition(primary, 'completeInitialReplication', 'ir done', at);
    primary = transition(primary, 'prepareFailover', 'prepare', at);
    primary = transition(primary, 'asReplica', 'reverse', at);
    assert.deepEqual([primary.mode, primary.state], ['Replica', 'WaitingForInitialReplication']);
    assert.deepEqual(
      primary.history.map((h) => `${h.fromMode}:${h.from}->${h.toMode}:${h.to}`),
      [
        'Primary:Disabled->Primary:ReadyForInitialReplication',
        'Primary:ReadyForInitialReplication->Primary:InitialReplicationInProgress',
        'Primary:InitialReplicationInProgress->Primary:Replicating',
        'Primary:Replicating->Primary:PreparedForFailover',
        'Primary:PreparedForFailover->Replica:WaitingForInitialReplication',
      ],
    );
    assert.deepEqual(primary.history[3], { from: 'Replicating', to: 'PreparedForFailover', fromMode: 'Primary', toMode: 'Primary', command: 'prepareFailover', at: at.toISOString(), reason: 'prepare' });

    let replica = transition(carrier('Replica', 'Disabled'), 'enable', 'enabled', at);
    replica = transition(replica, 'completeInitialReplication', 'first log', at);
    replica = transition(replica, 'startFailover', 'go', at);
    assert.equal(replica.state, 'RecoveryInProgress');
    replica = transition(replica, 'failoverReady', 'up', at);
    replica = transition(replica, 'completeFailover', 'commit', at);
    replica = transition(replica, 'reverse', 'reverse', at);
    assert.deepEqual([replica.mode, replica.state], ['Primary', 'InitialReplicationInProgress']);
  });

  it('refuses with ERR_INVALID_STATE, naming the states needed and the commands that reach them', () => {
    const primary = carrier('Primary', 'Suspended');
    assert.throws(
      () => transition(primary, 'prepareFailover', 'x', at),
      (error: unknown) =>
        isFailoverError(error, 'ERR_INVALID_STATE') &&
        error.exitCode === 4 &&
        /Start-HvrVMFailover -Prepare/.test(error.message) &&
        /state Suspended \(Primary\)/.test(error.message) &&
        /needs Replicating \(reached by .*Resume-HvrVMReplication/.test(error.message),
    );
    assert.throws(
      () => transition(carrier('Primary', 'Replicating'), 'completeFailover', 'x', at),
      (error: unknown) => isFailoverError(error, 'ERR_INVALID_STATE') && /it is a Primary here, and this needs a Replica or ExtendedReplica/.test(error.message),
    );
    assert.throws(
      () => transition(carrier('Replica', 'Replicating'), 'completeFailover', 'x', at),
      (error: unknown) => isFailoverError(error, 'ERR_INVALID_STATE') && /needs FailedOverWaitingCompletion \(reached by a completed Start-HvrVMFailover\)/.test(error.message),
    );
    // An ExtendedReplica may be failed over but never prepared (§5.7).
    assert.ok(canTransition(carrier('ExtendedReplica', 'Replicating'), 'startFailover'));
    assert.ok(!canTransition(carrier('ExtendedReplica', 'Replicating'), 'prepareFailover'));
  });

  it('a same-state rule is a no-op, and the input record is never mutated', () => {
    const before = carrier('Replica', 'Replicating');
    const frozen = structuredClone(before);
    const after = transition(transition(before, 'suspend', 'pause', at), 'resume', 'go', at);
    assert.deepEqual(before, frozen);
    assert.equal(after.history.length, 2);
    const failed = carrier('Replica', 'FailedOverWaitingCompletion');
    assert.equal(transition(failed, 'cancelFailover', 'x', at).state, 'Replicating');
  });

  it('Error is entered only through enterError, keeps the cause, and resume leaves it', () => {
    assert.ok(!TRANSITIONS.some((r) => r.to === 'Error'));
    const failed = enterError(carrier('Primary', 'Replicating'), new Error('disk full on replica'), at);
    assert.equal(failed.state, 'Error');
    assert.equal(failed.errorMessage, 'disk full on replica');
    assert.equal(failed.history.at(-1)?.command, 'error');
    assert.equal(enterError(failed, new Error('disk full on replica'), at), failed);
    const resumed = transition(failed, 'resume', 'space freed', at);
    assert.equal(resumed.state, 'Replicating');
    assert.equal(resumed.errorMessage, undefined);
  });

  it('every state named in the table is one of Hyper-V\'s VMReplicationState names', () => {
    for (const rule of TRANSITIONS) for (const state of [...rule.from, rule.to]) assert.ok((REPLICATION_STATES as readonly string[]).includes(state), state);
  });
});
