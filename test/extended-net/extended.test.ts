/**
 * Extended replication A→B→C over loopback with real processes (hyperv-replica.md §5.7): three state
 * directories, `hvreplica server run` for B and C, `hvreplica workload` writing into the file-host VM on A,
 * every step through the CLI. C must equal B's latest applied content by SHA-256 after each extended
 * cycle, only what changed travels after the first, Hyper-V's rules refuse what they refuse, C fails over
 * like B does, and after A→B fails over B continues as C's primary.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
// The CLI prints the engine's report as JSON, all plain fields, so the engine's type describes it.
import { replicateExtendedVm, type ExtendedCycleReport } from '../../src/agent/extended-replicate.js';
import { storageLockFile } from '../../src/replica/storage-lock.js';
import { FileHost } from '../../src/host/file/file-host.js';
import { completeFailover, FailoverSite } from '../../src/failover/index.js';
import { HoldingFileHost } from '../helpers/holding-host.js';
import { hostCertificate } from '../../src/demo/pairing.js';
import { freePort, ServerProcess } from '../../src/demo/server-process.js';
import { cli, latestContent, MiB, ThreeHosts, vmHashes, type CliResult } from '../e2e/harness.js';

type Row = Record<string, unknown>;

const rows = (run: CliResult): Row[] => run.json.result as Row[];

function ok(run: CliResult, what: string): void {
  assert.equal(run.code, 0, `${what}: ${JSON.stringify(run.json)}`);
}

function refused(run: CliResult, code: string, message: RegExp, exit: number): void {
  assert.equal(run.code, exit, JSON.stringify(run.json));
  assert.equal(run.json.error?.code, code, JSON.stringify(run.json));
  assert.match(run.json.error!.message, message);
}

/** One A→B cycle through `hvreplica replicate` on A. */
async function cycleAB(hosts: ThreeHosts, kind: 'initial' | 'delta'): Promise<void> {
  const run = await hosts.ab.replicate();
  assert.equal(run.cycle?.Kind, kind, `A→B ${kind}: ${JSON.stringify(run.json)}`);
  // B acknowledges a cycle once it is stored and applies it after; its record says Replicating only then, and
  // extending it waits for that (a loaded machine showed the gap in CI).
  if (kind === 'initial') await replicatingOnB(hosts);
}

async function replicatingOnB(hosts: ThreeHosts): Promise<void> {
  let state: unknown;
  for (let i = 0; i < 600; i += 1) {
    const view = await cli(['replication', 'get', '--vm-name=vm1', '--state-dir', hosts.replicaState]);
    state = rows(view).find((r) => r.ReplicationMode === 'Replica')?.ReplicationState;
    if (state === 'Replicating') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`B did not reach Replicating after the initial cycle (state ${String(state)})`);
}

async function extendedCycleByCli(hosts: ThreeHosts, round: number): Promise<ExtendedCycleReport> {
  const run = await hosts.replicateExtended();
  ok(run, `extended delta ${round}`);
  return run.json.result as ExtendedCycleReport;
}

/**
 * One extended cycle in this process, watching B's storage lock while the logs travel to C: once they are
 * spooled the lock must be gone (A's uploads to B never wait for C), and C gets them all the same.
 */
async function extendedCycleWatchingLock(hosts: ThreeHosts): Promise<ExtendedCycleReport> {
  const lockFile = storageLockFile(hosts.ab.replicaDir);
  const lockedWhileUploading: boolean[] = [];
  const report = await replicateExtendedVm({
    stateDir: hosts.replicaState,
    vm: 'vm1',
    onProgress: (progress) => {
      // `total` is known once every log is spooled and B's storage is let go; from then on only the upload runs.
      if (progress.phase === 'upload' && progress.total !== undefined) lockedWhileUploading.push(existsSync(lockFile));
    },
  });
  assert.ok(report, 'the extended cycle sent something');
  // `total` is set once the lock is released; a small upload may be over before then (nothing observed).
  assert.deepEqual(lockedWhileUploading.filter(Boolean), [], `B's storage lock (${lockFile}) is released while the logs are still being uploaded to C`);
  return report;
}

describe('extended replication A→B→C over the network', () => {
  it('Hyper-V\'s rules, full copy then only changes, C equal to B after every cycle, get/measure, failover on C', async (t) => {
    const hosts = await ThreeHosts.create({ disks: [16 * MiB, 8 * MiB], frequencySec: 300 });
    try {
      await hosts.startServers();
      const b = ['--state-dir', hosts.replicaState];
      const c = ['--state-dir', hosts.extendedState];

      await hosts.ab.workload(['--seed=1', '--bytes=6MiB']);
      await cycleAB(hosts, 'initial');
      await hosts.ab.workload(['--seed=2', '--bytes=1MiB']);
      await cycleAB(hosts, 'delta');
      // B replicates vm1 from A now; first Hyper-V's refusals.
      refused(await hosts.enableExtended(['--replication-frequency-sec=30']), 'ERR_INVALID_ARGUMENT', /300 or 900/, 2);
      refused(await hosts.enableExtended(['--replication-frequency-sec=300', '--excluded-vhd-path=/x']), 'ERR_INVALID_ARGUMENT', /same disks/, 2);
      refused(await hosts.enableExtended(['--vss-snapshot-frequency-hour=2', '--recovery-history=2']), 'ERR_INVALID_ARGUMENT', /application-consistent/, 2);
      // A→C is never allowed: on A the VM already replicates (to B).
      refused(
        await cli([
          'replication', 'enable', '--vm-name=vm1', '--replica-server-name=localhost', `--replica-server-port=${hosts.portC}`, '--authentication-type=Certificate',
          `--certificate-thumbprint=${hosts.ab.pairing.primaryThumbprint}`, `--state-dir=${hosts.primaryState}`,
        ]),
        'ERR_ALREADY_EXISTS', /already enabled/, 4,
      );

      const enabled = await hosts.enableExtended(['--replication-frequency-sec=300', '--recovery-history=2']);
      ok(enabled, 'extended enable');
      const [created] = rows(enabled);
      assert.deepEqual([created!.ReplicationMode, created!.ReplicationRelationshipType, created!.ReplicationState], ['Primary', 'Extended', 'ReadyForInitialReplication']);
      assert.deepEqual([created!.PrimaryServerName, created!.ReplicaServerName, created!.ReplicationFrequencySec], ['replica.e2e.test', 'localhost', 300]);
      refused(await hosts.enableExtended(), 'ERR_ALREADY_EXISTS', /already has an extended replication/, 4);

      // Hyper-V shows the Extended relationship only when asked for it.
      const simpleView = await cli(['replication', 'get', ...b]);
      ok(simpleView, 'get on B');
      assert.ok(!rows(simpleView).some((r) => r.ReplicationRelationshipType === 'Extended'), JSON.stringify(simpleView.json));
      const extendedView = await cli(['replication', 'get', '--vm-name=vm1', '--replication-relationship-type=Extended', ...b]);
      ok(extendedView, 'get Extended on B');
      assert.deepEqual(rows(extendedView).map((r) => [r.VMName, r.ReplicationMode, r.ReplicationRelationshipType]), [['vm1', 'Primary', 'Extended']]);

      // First extended cycle: a full copy.
      const first = await hosts.replicateExtended();
      ok(first, 'extended initial');
      const initial = first.json.result as ExtendedCycleReport;
      assert.deepEqual([initial.Kind, initial.Generation, initial.Sequence], ['initial', 1, 0]);
      assert.ok(initial.ChangedBytes >= 6 * MiB, `the full copy carried the data B holds (${initial.ChangedBytes} bytes)`);
      let { b: bContent } = await hosts.verifyExtended();
      assert.equal(initial.ReferencePoint, `${bContent.position}@${bContent.referencePoint}`);
      assert.deepEqual(bContent.hashes, hosts.ab.expected.get(bContent.referencePoint), 'and that is A at its last acknowledged point');

      // Nothing new on B: nothing sent.
      const idle = await hosts.replicateExtended();
      ok(idle, 'idle extended cycle');
      assert.equal(idle.json.result, null);

      // Then only what changed: three rounds of A writing, A→B, B→C.
      let previous = initial;
      for (let round = 0; round < 3; round += 1) {
        await hosts.ab.workload([`--seed=${10 + round}`, '--bytes=512KiB', '--max-size=64KiB']);
        await cycleAB(hosts, 'delta');
        const delta = round === 0 ? await extendedCycleWatchingLock(hosts) : await extendedCycleByCli(hosts, round);
        assert.deepEqual([delta.Kind, delta.Generation, delta.Sequence], ['delta', 1, previous.Sequence + 1]);
        assert.equal(delta.ComparedBytes, 24 * MiB, 'every byte of both disks compared by hash');
        assert.ok(delta.ChangedBytes > 0, 'the workload changed something');
        // 512 KiB of writes touch a handful of the 24 one-MiB hash blocks (5 to 8 in runs so far), never half the disk.
        assert.ok(delta.ChangedBytes <= delta.ComparedBytes / 2, `only the differing blocks travel (${delta.ChangedBytes} of ${delta.ComparedBytes} bytes)`);
        assert.ok(delta.LogBytes < initial.LogBytes, `delta log ${delta.LogBytes} < full copy log ${initial.LogBytes}`);
        ({ b: bContent } = await hosts.verifyExtended());
        assert.deepEqual(bContent.hashes, hosts.ab.expected.get(bContent.referencePoint));
        t.diagnostic(`extended delta ${delta.Sequence}: ${delta.ChangedBytes} changed bytes of ${delta.ComparedBytes} compared, ${delta.LogBytes} bytes of log (full copy: ${initial.ChangedBytes} bytes as ${initial.LogBytes} bytes of log)`);
        previous = delta;
      }

      // B's statistics (Measure-VMReplication -ReplicationRelationshipType Extended).
      const measuredB = rows(await cli(['replication', 'measure', '--vm-name=vm1', '--replication-relationship-type=Extended', ...b]))[0]!;
      assert.deepEqual([measuredB.ReplicationState, measuredB.ReplicationHealth, measuredB.SuccessfulReplicationCount], ['Replicating', 'Normal', 4]);
      assert.equal(measuredB.InitialReplicationSize, initial.LogBytes);

      // C shows its ExtendedReplica, whose primary is B.
      const onC = await cli(['replication', 'get', '--vm-name=vm1', ...c]);
      ok(onC, 'get on C');
      assert.deepEqual(rows(onC).map((r) => [r.ReplicationMode, r.ReplicationRelationshipType, r.ReplicationState, r.PrimaryServerName]), [['ExtendedReplica', 'Extended', 'Replicating', 'replica.e2e.test']]);
      const measuredC = await cli(['replication', 'measure', ...c]);
      ok(measuredC, 'measure on C');
      // C counts what it received and applied: every cycle B sent.
      assert.deepEqual(rows(measuredC).map((r) => [r.VMName, r.ReplicationMode, r.SuccessfulReplicationCount]), [['vm1', 'ExtendedReplica', measuredB.SuccessfulReplicationCount]]);
      assert.ok((rows(measuredC)[0]!.AverageReplicationSize as number) > 0, 'sizes received are counted');
      // C cannot extend further: A→B→C only.
      refused(
        await cli([
          'replication', 'enable', '--vm-name=vm1', '--replica-server-name=fourth.e2e.test', '--replica-server-port=443', '--authentication-type=Certificate',
          `--certificate-thumbprint=${hosts.pairingBC.replicaThumbprint}`, ...c,
        ]),
        'ERR_INVALID_STATE', /starts from a replica/, 4,
      );

      // Suspended: no cycle; resumed: cycles again.
      ok(await cli(['replication', 'suspend', '--vm-name=vm1', '--replication-relationship-type=Extended', ...b]), 'suspend extended');
      refused(await hosts.replicateExtended(), 'ERR_INVALID_STATE', /Suspended/, 4);
      ok(await cli(['replication', 'resume', '--vm-name=vm1', '--replication-relationship-type=Extended', ...b]), 'resume extended');

      // Failover on the extended replica works as on B: the VM comes up with B's latest content.
      const failover = await cli(['failover', 'start', '--vm-name=vm1', ...c]);
      ok(failover, 'failover on C');
      assert.equal(rows(failover)[0]!.ReplicationState, 'FailedOverWaitingCompletion');
      const cHost = new FileHost({ root: join(hosts.extendedState, 'vms') });
      assert.deepEqual(await vmHashes(cHost, 'vm1'), bContent.hashes, 'the failed-over VM on C shows B\'s latest content');
      // A failed-over extended replica takes nothing more from B (split brain).
      await hosts.ab.workload(['--seed=20', '--bytes=256KiB']);
      await cycleAB(hosts, 'delta');
      const late = await hosts.replicateExtended();
      assert.notEqual(late.code, 0, 'C refuses changes once it failed over');
      assert.equal(late.json.error?.code, 'ERR_INVALID_STATE', JSON.stringify(late.json));
      assert.deepEqual(await vmHashes(cHost, 'vm1'), bContent.hashes, 'and the failed-over VM is untouched');
    } finally {
      await hosts.dispose();
    }
  });

  it('extended frequency never more frequent than A→B (900 s): 300 refused, 900 taken', async () => {
    const hosts = await ThreeHosts.create({ disks: [8 * MiB], frequencySec: 900 });
    try {
      await hosts.startServers();
      // Nothing replicated to B yet: B's server holds no vm1, and B has no VM of that name either.
      refused(await hosts.enableExtended(), 'ERR_NOT_FOUND', /vm1/, 3);
      await hosts.ab.workload(['--seed=5', '--bytes=1MiB']);
      await cycleAB(hosts, 'initial');
      refused(await hosts.enableExtended(['--replication-frequency-sec=300']), 'ERR_INVALID_ARGUMENT', /cannot be more frequent than the primary's \(900 s\)/, 2);
      const enabled = await hosts.enableExtended();
      ok(enabled, 'extended enable at A→B\'s frequency');
      assert.equal(rows(enabled)[0]!.ReplicationFrequencySec, 900, 'the default follows A→B when that is 900');
      ok(await hosts.replicateExtended(), 'extended initial');
      await hosts.verifyExtended();
      // Removing it leaves C's copy; B no longer sends.
      ok(await cli(['replication', 'remove', '--vm-name=vm1', '--replication-relationship-type=Extended', '--state-dir', hosts.replicaState]), 'remove extended');
      refused(await hosts.replicateExtended(), 'ERR_REPLICATION_NOT_ENABLED', /no extended replication/, 4);
      assert.notEqual((await latestContent(hosts.extendedDir)).position, null);
    } finally {
      await hosts.dispose();
    }
  });

  it('A→B fails over, then B continues as the primary of C (Resume-VMReplication -Continue): only differences travel', async () => {
    const hosts = await ThreeHosts.create({ disks: [16 * MiB, 8 * MiB], frequencySec: 300 });
    try {
      await hosts.startServers();
      const b = ['--state-dir', hosts.replicaState];
      const c = ['--state-dir', hosts.extendedState];
      await hosts.ab.workload(['--seed=31', '--bytes=6MiB']);
      await cycleAB(hosts, 'initial');
      ok(await hosts.enableExtended(), 'extended enable');
      ok(await hosts.replicateExtended(), 'extended initial');
      await hosts.ab.workload(['--seed=32', '--bytes=512KiB']);
      await cycleAB(hosts, 'delta');
      ok(await hosts.replicateExtended(), 'extended delta');
      await hosts.verifyExtended();

      // A is lost: B fails over (unplanned) and its VM runs and writes.
      ok(await cli(['vm', 'stop', 'vm1', `--state-dir=${hosts.primaryState}`]), 'A\'s VM stops');
      ok(await cli(['failover', 'start', '--vm-name=vm1', ...b]), 'failover on B');
      refused(await hosts.replicateExtended(), 'ERR_INVALID_STATE', /pauses while it is FailedOverWaitingCompletion.*--continue/, 4);
      ok(await cli(['vm', 'start', 'vm1', ...b]), 'B\'s VM starts');
      ok(await cli(['workload', '--vm=vm1', '--seed=33', '--bytes=512KiB', '--max-size=64KiB', ...b]), 'workload on B');

      // B continues: it completes the failover and becomes C's primary, sending only what differs.
      const resumed = await cli(['replication', 'resume', '--vm-name=vm1', '--continue', ...b]);
      ok(resumed, 'resume --continue');
      const [rel] = rows(resumed);
      assert.deepEqual([rel!.ReplicationMode, rel!.ReplicationRelationshipType, rel!.ReplicationState, rel!.ReplicaServerName], ['Primary', 'Simple', 'Replicating', 'localhost']);
      const bHost = new FileHost({ root: join(hosts.replicaState, 'vms') });
      assert.deepEqual((await latestContent(hosts.extendedDir)).hashes, await vmHashes(bHost, 'vm1'), 'C holds B\'s VM as it is now');
      const onC = rows(await cli(['replication', 'get', '--vm-name=vm1', ...c]));
      assert.deepEqual(onC.map((r) => [r.ReplicationMode, r.ReplicationRelationshipType, r.ReplicationState, r.PrimaryServerName]), [['Replica', 'Simple', 'Replicating', 'replica.e2e.test']]);
      // The Extended relationship is gone: B sends to C as its primary now.
      assert.deepEqual(rows(await cli(['replication', 'get', '--vm-name=vm1', '--replication-relationship-type=Extended', ...b])), []);
      refused(await hosts.replicateExtended(), 'ERR_REPLICATION_NOT_ENABLED', /no extended replication/, 4);

      // Ordinary delta cycles B→C follow.
      ok(await cli(['workload', '--vm=vm1', '--seed=34', '--bytes=256KiB', '--max-size=64KiB', ...b]), 'more writes on B');
      const cycle = await cli(['replicate', '--vm=vm1', ...b]);
      ok(cycle, 'B→C delta');
      const report = cycle.json.result as { Kind: string; ChangedBytes: number };
      assert.equal(report.Kind, 'delta');
      assert.ok(report.ChangedBytes > 0 && report.ChangedBytes <= 2 * MiB, `B→C delta carried ${report.ChangedBytes} bytes`);
      ok(await cli(['vm', 'stop', 'vm1', ...b]), 'B\'s VM stops');
      assert.deepEqual((await latestContent(hosts.extendedDir)).hashes, await vmHashes(bHost, 'vm1'), 'C equals B after the delta');
    } finally {
      await hosts.dispose();
    }
  });

  it('--continue finishes a failover B completed while its VM ran (the chain held, as on Hyper-V) once the VM is off, then sends from the final disks', async () => {
    const hosts = await ThreeHosts.create({ disks: [8 * MiB, 4 * MiB], frequencySec: 300 });
    try {
      await hosts.startServers();
      const b = ['--state-dir', hosts.replicaState];
      await hosts.ab.workload(['--seed=51', '--bytes=2MiB']);
      await cycleAB(hosts, 'initial');
      ok(await hosts.enableExtended(), 'extended enable');
      ok(await hosts.replicateExtended(), 'extended initial');

      // A is lost: B fails over, starts the VM and completes while it runs, on a host that holds a running
      // VM's chain open as Hyper-V does: the recovery point's chain stays under the VM (record.heldChain).
      ok(await cli(['vm', 'stop', 'vm1', `--state-dir=${hosts.primaryState}`]), 'A\'s VM stops');
      ok(await cli(['failover', 'start', '--vm-name=vm1', ...b]), 'failover on B');
      ok(await cli(['vm', 'start', 'vm1', ...b]), 'B\'s VM starts');
      const bHost = new HoldingFileHost({ root: join(hosts.replicaState, 'vms') });
      const site = new FailoverSite({ name: 'replica.e2e.test', stateDir: hosts.replicaState, host: bHost });
      const completed = await completeFailover(site, hosts.ab.vmId);
      assert.equal(completed.state, 'FailedOver');
      assert.equal(completed.heldChain?.storagePath, hosts.ab.replicaDir, 'the chain the VM runs on is held in B\'s replica storage folder');
      ok(await cli(['workload', '--vm=vm1', '--seed=52', '--bytes=256KiB', '--max-size=64KiB', ...b]), 'workload on B');
      ok(await cli(['vm', 'stop', 'vm1', ...b]), 'B\'s VM stops');
      const reads = await vmHashes(bHost, 'vm1');

      // The VM is off: --continue moves it onto its own disks and deletes the chain before it sends to C.
      const resumed = await cli(['replication', 'resume', '--vm-name=vm1', '--continue', ...b]);
      ok(resumed, 'resume --continue');
      assert.deepEqual(rows(resumed).map((r) => [r.ReplicationMode, r.ReplicationState]), [['Primary', 'Replicating']]);
      const record = await site.store.require(hosts.ab.vmId);
      assert.equal(record.heldChain, undefined, 'the pending step of the completion is done');
      assert.ok(!existsSync(hosts.ab.replicaDir), 'the held chain and its folder are deleted');
      const standalone = readdirSync(site.failedOverDiskFolder(hosts.ab.vmId)).filter((f) => f.endsWith('.vhdx'));
      assert.equal(standalone.length, 2, `B's VM moved onto a standalone base disk per disk: ${standalone.join(', ')}`);
      assert.deepEqual(await vmHashes(bHost, 'vm1'), reads, 'B\'s VM reads what it read (its writes included) with the chain gone');
      assert.deepEqual((await latestContent(hosts.extendedDir)).hashes, reads, 'C holds B\'s VM as it is now');
    } finally {
      await hosts.dispose();
    }
  });

  it('reversing B→A after A→B failed over halts B→C: the Extended relationship is gone, C keeps its copy', async () => {
    const hosts = await ThreeHosts.create({ disks: [8 * MiB, 4 * MiB], frequencySec: 300 });
    let serverA: ServerProcess | undefined;
    try {
      await hosts.startServers();
      const a = [`--state-dir=${hosts.primaryState}`];
      const b = ['--state-dir', hosts.replicaState];
      await hosts.ab.workload(['--seed=41', '--bytes=2MiB']);
      await cycleAB(hosts, 'initial');
      ok(await hosts.enableExtended(), 'extended enable');
      ok(await hosts.replicateExtended(), 'extended initial');
      const { c: before } = await hosts.verifyExtended();

      // A→B fails over; A (VM off) becomes B's replica through its own replica server.
      ok(await cli(['vm', 'stop', 'vm1', ...a]), 'A\'s VM stops');
      ok(await cli(['failover', 'start', '--vm-name=vm1', ...b]), 'failover on B');
      const portA = await freePort();
      const certA = await hostCertificate(hosts.primaryState, hosts.ab.pairing.ca, ['primary.e2e.test', 'localhost']);
      ok(await cli(['server', 'set', '--replication-enabled=true', '--allowed-authentication-type=Certificate', `--certificate-thumbprint=${certA}`, `--certificate-authentication-port=${portA}`, ...a]), 'A as a replica server');
      ok(await cli(['auth', 'add', '--allowed-primary-server=replica.e2e.test', `--replica-storage-location=${join(hosts.ab.root, 'storage-a')}`, '--trust-group=e2e', ...a]), 'A admits B');
      ok(await cli(['replication', 'set', '--vm-name=vm1', '--as-replica', '--allowed-primary-server=replica.e2e.test', ...a]), 'A --as-replica');
      serverA = await ServerProcess.start({ stateDir: hosts.primaryState, args: ['--recovery-point-interval-sec=0.001'] });

      const reversed = await cli(['replication', 'set', '--vm-name=vm1', '--reverse', '--replica-server-name=localhost', `--replica-server-port=${portA}`, `--certificate-thumbprint=${hosts.ab.pairing.replicaThumbprint}`, ...b]);
      ok(reversed, 'reverse B→A');
      assert.deepEqual(rows(reversed).map((r) => [r.ReplicationMode, r.ReplicationState]), [['Primary', 'Replicating']]);
      // B→C is halted: no Extended relationship on B, no extended cycle, C's copy as it was.
      assert.deepEqual(rows(await cli(['replication', 'get', '--vm-name=vm1', '--replication-relationship-type=Extended', ...b])), []);
      refused(await hosts.replicateExtended(), 'ERR_REPLICATION_NOT_ENABLED', /no extended replication/, 4);
      assert.deepEqual((await latestContent(hosts.extendedDir)).hashes, before.hashes, 'C keeps what it had');
    } finally {
      await serverA?.kill();
      await hosts.dispose();
    }
  });
});
