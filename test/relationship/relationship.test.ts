import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  assessHealth,
  enableRelationship,
  monitoringIntervalStart,
  recordCycle,
  RelationshipError,
  RelationshipStore,
  rollStatistics,
  setRelationship,
  type EnableParameters,
  type ReplicationRelationship,
  type VmForReplication,
} from '../../src/relationship/index.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const THUMB = 'C0FFEE'.padEnd(40, '0');
const disk = (path: string) => ({ Path: path, ControllerType: 'SCSI' as const, ControllerNumber: 0, ControllerLocation: 0 });
const VM: VmForReplication = { id: '0d2c6f1e-1111-4222-8333-944445555666', name: 'web1', isReplica: false, disks: [disk('/vms/web1/os.vhdx'), disk('/vms/web1/data.vhdx')] };
const ENABLE: EnableParameters = { ReplicaServerName: 'Replica.Lab.Test', ReplicaServerPort: 443, AuthenticationType: 'Certificate', CertificateThumbprint: THUMB };

function refused(fn: () => unknown): RelationshipError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof RelationshipError, String(error));
    return error;
  }
  assert.fail('expected a RelationshipError');
}

const enabled = (p: Partial<EnableParameters> = {}) => enableRelationship(VM, { ...ENABLE, ...p }, { primaryServerName: 'hv-a.lab.test', now: NOW });

describe('Enable-VMReplication rules', () => {
  it('creates a relationship with Hyper-V defaults, ReadyForInitialReplication', () => {
    const rel = enabled();
    assert.equal(rel.ReplicationState, 'ReadyForInitialReplication');
    assert.equal(rel.ReplicationMode, 'Primary');
    assert.equal(rel.ReplicaServerName, 'replica.lab.test');
    assert.equal(rel.ReplicationFrequencySec, 300);
    assert.equal(rel.RecoveryHistory, 0);
    assert.equal(rel.VSSSnapshotFrequencyHour, 0);
    assert.equal(rel.CompressionEnabled, true);
    assert.equal(rel.ReplicateHostKvpItems, true);
    assert.equal(rel.AutoResynchronizeIntervalStart, 66600);
    assert.equal(rel.AutoResynchronizeIntervalEnd, 21600);
    assert.equal(rel.CertificateThumbprint, THUMB);
    assert.equal(rel.ReplicatedDisks.length, 2);
  });

  it('refuses what Hyper-V refuses', () => {
    assert.equal(refused(() => enabled({ ReplicaServerName: '192.168.1.5' })).code, 'ERR_INVALID_ARGUMENT');
    assert.equal(refused(() => enabled({ ReplicaServerPort: 0 })).code, 'ERR_INVALID_ARGUMENT');
    assert.match(refused(() => enabled({ ReplicationFrequencySec: 60 })).message, /30, 300 or 900/);
    assert.equal(refused(() => enabled({ RecoveryHistory: 25 })).code, 'ERR_INVALID_ARGUMENT');
    assert.match(refused(() => enabled({ VSSSnapshotFrequencyHour: 4 })).message, /RecoveryHistory greater than 0/);
    assert.equal(refused(() => enabled({ VSSSnapshotFrequencyHour: 13, RecoveryHistory: 4 })).code, 'ERR_INVALID_ARGUMENT');
    assert.match(refused(() => enabled({ CertificateThumbprint: undefined })).message, /certificate-thumbprint/);
    assert.equal(refused(() => enabled({ AuthenticationType: 'Kerberos', CertificateThumbprint: undefined })).code, 'ERR_NOT_SUPPORTED');
    assert.equal(refused(() => enabled({ AuthenticationType: 'Kerberos' })).code, 'ERR_INVALID_ARGUMENT');
    assert.match(refused(() => enabled({ ExcludedVhdPath: ['/vms/web1/os.vhdx', '/vms/web1/data.vhdx'] })).message, /no replicated disk/);
    assert.match(refused(() => enabled({ ExcludedVhdPath: ['/elsewhere.vhdx'] })).message, /not a disk attached/);
    const existing = enabled();
    assert.equal(refused(() => enableRelationship(VM, ENABLE, { primaryServerName: 'a.b', now: NOW, existing })).code, 'ERR_ALREADY_EXISTS');
  });

  it('excludes disks by exact path', () => {
    const rel = enabled({ ExcludedVhdPath: [' /vms/web1/data.vhdx '] });
    assert.deepEqual(rel.ReplicatedDisks.map((d) => d.Path), ['/vms/web1/os.vhdx']);
    assert.deepEqual(rel.ExcludedDisks.map((d) => d.Path), ['/vms/web1/data.vhdx']);
  });
});

describe('Set-VMReplication rules', () => {
  it('needs something to change and validates like enable', () => {
    assert.match(refused(() => setRelationship(VM, enabled(), {}, NOW)).message, /no settings changed/);
    assert.equal(refused(() => setRelationship(VM, enabled(), { ReplicationFrequencySec: 45 }, NOW)).code, 'ERR_INVALID_ARGUMENT');
    // Reverse/AsReplica are failover steps (src/failover/network.ts); the parameter sets are still checked here.
    assert.equal(refused(() => setRelationship(VM, enabled(), { Reverse: true }, NOW)).code, 'ERR_INVALID_STATE');
    assert.equal(refused(() => setRelationship(VM, enabled(), { Reverse: true, ReplicatedDiskPaths: ['/x'] }, NOW)).code, 'ERR_INVALID_ARGUMENT');
    assert.equal(refused(() => setRelationship(VM, enabled(), { AsReplica: true, RecoveryHistory: 2 }, NOW)).code, 'ERR_INVALID_ARGUMENT');
  });

  it('ties VSS points to recovery history', () => {
    const on = setRelationship(VM, enabled(), { RecoveryHistory: 6 }, NOW);
    assert.equal(on.VSSSnapshotFrequencyHour, 4, 'Hyper-V picks 4 h before the first replication');
    assert.equal(setRelationship(VM, on, { RecoveryHistory: 0 }, NOW).VSSSnapshotFrequencyHour, 0);
    assert.equal(setRelationship(VM, on, { DisableVSSSnapshotReplication: true }, NOW).VSSSnapshotFrequencyHour, 0);
    assert.equal(refused(() => setRelationship(VM, on, { DisableVSSSnapshotReplication: true, VSSSnapshotFrequencyHour: 2 }, NOW)).code, 'ERR_INVALID_ARGUMENT');
    assert.equal(refused(() => setRelationship(VM, enabled(), { VSSSnapshotFrequencyHour: 2 }, NOW)).code, 'ERR_INVALID_ARGUMENT');
    assert.equal(setRelationship(VM, on, { VSSSnapshotFrequencyHour: 12 }, NOW).VSSSnapshotFrequencyHour, 12);
  });

  it('schedules initial replication only in the next 7 days and before it starts', () => {
    const inADay = new Date(NOW.getTime() + 86_400_000);
    assert.equal(setRelationship(VM, enabled(), { InitialReplicationStartTime: inADay }, NOW).InitialReplicationStartTime, inADay.toISOString());
    assert.equal(refused(() => setRelationship(VM, enabled(), { InitialReplicationStartTime: new Date(NOW.getTime() - 1000) }, NOW)).code, 'ERR_INVALID_ARGUMENT');
    assert.equal(refused(() => setRelationship(VM, enabled(), { InitialReplicationStartTime: new Date(NOW.getTime() + 8 * 86_400_000) }, NOW)).code, 'ERR_INVALID_ARGUMENT');
    const replicating = { ...enabled(), ReplicationState: 'Replicating' as const };
    assert.equal(refused(() => setRelationship(VM, replicating, { InitialReplicationStartTime: inADay }, NOW)).code, 'ERR_INVALID_STATE');
    assert.match(refused(() => setRelationship(VM, enabled(), { UseBackup: true }, NOW)).message, /UseBackup needs/);
  });

  it('replaces the replicated disks with an include list', () => {
    const rel = setRelationship(VM, enabled(), { ReplicatedDiskPaths: ['/vms/web1/data.vhdx'] }, NOW);
    assert.deepEqual(rel.ReplicatedDisks.map((d) => d.Path), ['/vms/web1/data.vhdx']);
    assert.equal(refused(() => setRelationship(VM, enabled(), { ReplicatedDiskPaths: [] }, NOW)).code, 'ERR_INVALID_ARGUMENT');
  });
});

describe('replication health (Measure-VMReplication rules)', () => {
  const replicating = (changes: Partial<ReplicationRelationship> = {}): ReplicationRelationship => ({
    ...enabled(),
    ReplicationState: 'Replicating',
    LastReplicationTime: new Date(NOW.getTime() - 5 * 60_000).toISOString(),
    ...changes,
  });
  const healthOf = (rel: ReplicationRelationship) => assessHealth(rel, NOW);

  it('is Normal when cycles arrive and few are missed', () => {
    let stats = enabled().Statistics;
    for (let i = 0; i < 9; i += 1) stats = recordCycle(stats, { kind: 'success', bytes: 1000 * (i + 1), latencySec: 20 });
    stats = recordCycle(stats, { kind: 'missed' });
    assert.deepEqual(healthOf(replicating({ Statistics: stats })), { ReplicationHealth: 'Normal', ReplicationHealthDetails: [] });
  });

  it('warns: initial replication pending, > 20 % missed, > 1 hour without replication, paused on the primary, failed over', () => {
    assert.equal(healthOf(enabled()).ReplicationHealth, 'Warning');
    let stats = enabled().Statistics;
    for (const kind of ['missed', 'missed', 'success', 'success', 'success'] as const) stats = recordCycle(stats, kind === 'success' ? { kind, bytes: 1, latencySec: 1 } : { kind });
    assert.match(healthOf(replicating({ Statistics: stats })).ReplicationHealthDetails[0]!, /More than 20 percent/);
    assert.equal(healthOf(replicating({ LastReplicationTime: new Date(NOW.getTime() - 61 * 60_000).toISOString() })).ReplicationHealth, 'Warning');
    assert.equal(healthOf(replicating({ ReplicationState: 'Suspended' })).ReplicationHealth, 'Warning');
    assert.equal(healthOf(replicating({ ReplicationState: 'FailedOver' })).ReplicationHealth, 'Warning');
  });

  it('is Critical: error, resynchronization required, paused on the replica, cannot send', () => {
    assert.equal(healthOf(replicating({ ReplicationState: 'Error' })).ReplicationHealth, 'Critical');
    assert.equal(healthOf(replicating({ ReplicationState: 'WaitingForStartResynchronize' })).ReplicationHealth, 'Critical');
    assert.equal(healthOf(replicating({ ReplicationState: 'Suspended', ReplicationMode: 'Replica' })).ReplicationHealth, 'Critical');
    const failing = recordCycle(enabled().Statistics, { kind: 'network-failure' });
    const assessment = healthOf(replicating({ Statistics: failing }));
    assert.equal(assessment.ReplicationHealth, 'Critical');
    assert.match(assessment.ReplicationHealthDetails.join(' '), /cannot replicate/);
    assert.equal(healthOf(replicating({ ReplicationState: 'Disabled' })).ReplicationHealth, 'NotApplicable');
  });

  it('keeps statistics per monitoring interval anchored at the start time', () => {
    const at = new Date(2026, 10, 25, 22, 30);
    assert.deepEqual(monitoringIntervalStart(at, 43200, 32400), new Date(2026, 10, 25, 21, 0));
    assert.deepEqual(monitoringIntervalStart(new Date(2026, 10, 25, 8, 0), 43200, 32400), new Date(2026, 10, 24, 21, 0));
    let stats = recordCycle({ ...enabled().Statistics, MonitoringStartTime: new Date(2026, 10, 25, 9, 0).toISOString() }, { kind: 'missed' });
    stats = rollStatistics(stats, new Date(2026, 10, 25, 20, 0), 43200, 32400);
    assert.equal(stats.MissedReplicationCount, 1, 'same interval: kept');
    stats = rollStatistics(stats, at, 43200, 32400);
    assert.equal(stats.MissedReplicationCount, 0, 'next interval: reset');
    assert.equal(stats.MonitoringStartTime, new Date(2026, 10, 25, 21, 0).toISOString());
  });
});

describe('relationship store', () => {
  it('persists per VM and refuses a damaged file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hvr-rel-'));
    try {
      const store = new RelationshipStore(dir);
      await store.update(VM.id, () => ({ next: enabled(), result: undefined }));
      assert.equal((await store.get(VM.id))?.VMName, 'web1');
      assert.equal((await store.list()).length, 1);
      await store.update(VM.id, () => ({ next: undefined, result: undefined }));
      assert.equal(await store.get(VM.id), undefined);
      await writeFile(join(dir, 'relationships', `${VM.id}.json`), '{"VMId": 3}');
      await assert.rejects(store.get(VM.id), (e: RelationshipError) => e.code === 'ERR_CORRUPT_STATE');
      await assert.rejects(store.get('../../etc/passwd'), /not a GUID/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
