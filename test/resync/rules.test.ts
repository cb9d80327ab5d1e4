/** The resync rules as pure functions: the auto-resync window, when a resync is due, health and statistics. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inAutoResyncWindow, needsResync, resyncDue, waitingState } from '../../src/agent/resync.js';
import { assessHealth, emptyStatistics, recordCycle, type ReplicationRelationship } from '../../src/relationship/index.js';
import { ResyncRequiredError } from '../../src/tracking/change-tracker.js';
import { TransportError } from '../../src/transport/index.js';

const at = (h: number, m: number) => new Date(2026, 10, 25, h, m, 0);
const window = (start: number, end: number) => ({ AutoResynchronizeIntervalStart: start, AutoResynchronizeIntervalEnd: end });

function rel(overrides: Partial<ReplicationRelationship>): ReplicationRelationship {
  return {
    VMName: 'vm1',
    VMId: 'vm1',
    ReplicationMode: 'Primary',
    ReplicationRelationshipType: 'Simple',
    ReplicationState: 'Replicating',
    PrimaryServerName: 'p',
    ReplicaServerName: 'r',
    CurrentReplicaServerName: 'r',
    ReplicaServerPort: 443,
    AuthenticationType: 'Certificate',
    CertificateThumbprint: null,
    CompressionEnabled: true,
    BypassProxyServer: false,
    ReplicateHostKvpItems: true,
    ReplicationFrequencySec: 300,
    RecoveryHistory: 0,
    VSSSnapshotFrequencyHour: 0,
    ReplicatedDisks: [],
    ExcludedDisks: [],
    AutoResynchronizeEnabled: false,
    AutoResynchronizeIntervalStart: 66600,
    AutoResynchronizeIntervalEnd: 21600,
    InitialReplicationStartTime: null,
    ResynchronizeStartTime: null,
    LastReplicationTime: at(12, 0).toISOString(),
    LastAppliedLogTime: null,
    LastReplicationType: 'Regular',
    FailedOverReplicationType: 'None',
    LastVSSSnapshotTime: null,
    LastTestFailoverInitiatedTime: null,
    AllowedPrimaryServer: null,
    PendingReplicationSize: 0,
    InitialReplicationSize: 0,
    Statistics: emptyStatistics(at(9, 0)),
    ...overrides,
  };
}

describe('resync rules', () => {
  it('the window is local time, inclusive, and spans midnight when it ends before it starts', () => {
    // Hyper-V's default 18:30–06:00.
    assert.equal(inAutoResyncWindow(window(66600, 21600), at(23, 0)), true);
    assert.equal(inAutoResyncWindow(window(66600, 21600), at(3, 0)), true);
    assert.equal(inAutoResyncWindow(window(66600, 21600), at(12, 0)), false);
    assert.equal(inAutoResyncWindow(window(66600, 21600), at(18, 30)), true);
    // 00:00–23:59 is "any time".
    assert.equal(inAutoResyncWindow(window(0, 86340), at(23, 59)), true);
    assert.equal(inAutoResyncWindow(window(3600, 7200), at(2, 30)), false);
  });

  it('a resync is due when automatic and in the window, when scheduled and the time has come, or when interrupted', () => {
    const noon = at(12, 0);
    assert.equal(resyncDue(rel({ ReplicationState: 'WaitingForStartResynchronize' }), noon), false);
    assert.equal(resyncDue(rel({ ReplicationState: 'ResynchronizeSuspended', AutoResynchronizeEnabled: true }), noon), false);
    assert.equal(resyncDue(rel({ ReplicationState: 'ResynchronizeSuspended', AutoResynchronizeEnabled: true, ...window(36000, 50400) }), noon), true);
    assert.equal(resyncDue(rel({ ReplicationState: 'WaitingForStartResynchronize', ResynchronizeStartTime: at(11, 0).toISOString() }), noon), true);
    assert.equal(resyncDue(rel({ ReplicationState: 'WaitingForStartResynchronize', ResynchronizeStartTime: at(13, 0).toISOString() }), noon), false);
    assert.equal(resyncDue(rel({ ReplicationState: 'Resynchronizing' }), noon), true);
    assert.equal(waitingState(rel({ AutoResynchronizeEnabled: true })), 'ResynchronizeSuspended');
    assert.equal(waitingState(rel({ AutoResynchronizeEnabled: false })), 'WaitingForStartResynchronize');
  });

  it('lost tracking and an out-of-sequence refusal call for a resync; other failures do not', () => {
    assert.equal(needsResync(new ResyncRequiredError('gone', 'unknown-id')), true);
    assert.equal(needsResync(new TransportError('ERR_LOG_OUT_OF_SEQUENCE', 'behind', false, 409)), true);
    assert.equal(needsResync(new TransportError('ERR_CONNECTION', 'down', true)), false);
    assert.equal(needsResync(new Error('other')), false);
  });

  it('health: resync required or suspended is Critical, running is Warning; a resync counts its bytes', () => {
    const now = at(12, 30);
    assert.equal(assessHealth(rel({ ReplicationState: 'WaitingForStartResynchronize' }), now).ReplicationHealth, 'Critical');
    assert.equal(assessHealth(rel({ ReplicationState: 'ResynchronizeSuspended' }), now).ReplicationHealth, 'Critical');
    assert.equal(assessHealth(rel({ ReplicationState: 'Resynchronizing' }), now).ReplicationHealth, 'Warning');
    const stats = recordCycle(emptyStatistics(now), { kind: 'resync', bytes: 1000, latencySec: 2, resynchronizedBytes: 4096 });
    assert.deepEqual([stats.SuccessfulReplicationCount, stats.ReplicationSizeTotal, stats.ResynchronizedBytes, stats.LastAttemptFailed], [1, 1000, 4096, false]);
  });
});
