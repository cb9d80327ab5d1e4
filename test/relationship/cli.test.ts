import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { primaryStateFile } from '../../src/agent/paths.js';
import { savePrimaryState } from '../../src/engine/primary-state.js';
import { VM_CONFIG_SCHEMA, type VmRecord } from '../../src/host/file/vm-config.js';
import { RelationshipStore } from '../../src/relationship/index.js';
import { writeVm } from '../../src/host/file/vm-folders.js';
import { createCertificateAuthority, createHostCertificate, FileCertificateStore } from '../../src/security/index.js';
import { runCli } from '../replica/run-cli.js';

function vmRecord(name: string, disks: string[]): VmRecord {
  return {
    schemaVersion: VM_CONFIG_SCHEMA,
    id: randomUUID(),
    name,
    generation: 2,
    processorCount: 2,
    memoryBytes: 1024 ** 3,
    state: 'off',
    isReplica: false,
    isTestVm: false,
    networkAdapters: [],
    disks: disks.map((file, i) => ({ id: `disk${i}`, file, virtualSize: 1024 ** 3, logicalSectorSize: 512, layers: [] })),
    referencePoints: [],
    layerEpoch: 0,
  };
}

describe('hvreplica replication (--json contract, file host)', () => {
  let dir: string;
  let state: string[];
  let thumb: string;
  let web1: VmRecord;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hvr-repl-cli-'));
    const stateDir = join(dir, 'state');
    state = ['--state-dir', stateDir];
    web1 = vmRecord('web1', ['os.vhdx', 'data.vhdx']);
    for (const vm of [web1, vmRecord('db1', ['os.vhdx'])]) {
      await mkdir(join(stateDir, 'vms', vm.name), { recursive: true });
      await writeVm(join(stateDir, 'vms', vm.name), vm);
    }
    const ca = await createCertificateAuthority('test CA');
    const cert = await createHostCertificate(ca, ['hv-a.lab.test']);
    thumb = (await new FileCertificateStore(stateDir).importPem(cert.certificatePem, cert.privateKeyPem)).Thumbprint;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const enableArgs = () => ['replication', 'enable', '--replica-server-name=replica.lab.test', '--replica-server-port=443', '--authentication-type=Certificate', `--certificate-thumbprint=${thumb}`, ...state];

  it('enable creates the relationship in ReadyForInitialReplication with this host as primary', async () => {
    const run = await runCli([...enableArgs(), '--vm-name=web1', '--replication-frequency-sec=30', `--excluded-vhd-path=${join(dir, 'state', 'vms', 'web1', 'data.vhdx')}`]);
    assert.equal(run.exitCode, 0, JSON.stringify(run.json));
    const [rel] = run.json.result as Record<string, unknown>[];
    assert.equal(rel!.VMName, 'web1');
    assert.equal(rel!.VMId, web1.id);
    assert.equal(rel!.ReplicationState, 'ReadyForInitialReplication');
    assert.equal(rel!.ReplicationHealth, 'Warning');
    assert.equal(rel!.ReplicationMode, 'Primary');
    assert.equal(rel!.PrimaryServerName, 'hv-a.lab.test');
    assert.equal(rel!.ReplicationFrequencySec, 30);
    assert.equal(rel!.EnableWriteOrderPreservationAcrossDisks, true);
    assert.deepEqual((rel!.ReplicatedDisks as { Path: string }[]).map((d) => d.Path), [join(dir, 'state', 'vms', 'web1', 'os.vhdx')]);
    assert.equal((rel!.ExcludedDisks as unknown[]).length, 1);
    assert.equal(rel!.InitialReplicationStartTime, null);
  });

  it('enable refuses duplicates, unknown VMs, IP names and unknown certificates', async () => {
    const again = await runCli([...enableArgs(), '--vm-name=web1']);
    assert.equal(again.exitCode, 4);
    assert.equal(again.json.error?.code, 'ERR_ALREADY_EXISTS');
    const unknown = await runCli([...enableArgs(), '--vm-name=nosuchvm']);
    assert.equal(unknown.exitCode, 3);
    const ip = await runCli([...enableArgs().filter((a) => !a.startsWith('--replica-server-name')), '--vm-name=db1', '--replica-server-name=10.0.0.2']);
    assert.equal(ip.exitCode, 2);
    const cert = await runCli([...enableArgs().filter((a) => !a.startsWith('--certificate-thumbprint')), '--vm-name=db1', `--certificate-thumbprint=${'1'.repeat(40)}`]);
    assert.equal(cert.exitCode, 3);
    const none = await runCli([...enableArgs(), '--vm-name=zz*']);
    assert.deepEqual(none.json.result, [], 'a pattern matching nothing is an empty result');
  });

  it('get and measure: exact names, patterns, filters', async () => {
    const all = await runCli(['replication', 'get', ...state]);
    assert.deepEqual((all.json.result as { VMName: string }[]).map((r) => r.VMName), ['web1']);
    const notEnabled = await runCli(['replication', 'get', '--vm-name=db1', ...state]);
    assert.equal(notEnabled.exitCode, 4);
    assert.equal(notEnabled.json.error?.code, 'ERR_REPLICATION_NOT_ENABLED');
    assert.equal((await runCli(['replication', 'get', '--vm-name=nosuchvm', ...state])).exitCode, 3);
    assert.deepEqual((await runCli(['replication', 'get', '--vm-name=W*', ...state])).json.result instanceof Array, true);
    assert.equal(((await runCli(['replication', 'get', '--vm-name=W*', ...state])).json.result as unknown[]).length, 1);
    assert.deepEqual((await runCli(['replication', 'get', '--replication-state=Replicating', ...state])).json.result, []);
    assert.equal((await runCli(['replication', 'get', '--replication-state=Disabled', ...state])).exitCode, 2);
    const measure = await runCli(['replication', 'measure', '--vm-name=web1', ...state]);
    const [health] = measure.json.result as Record<string, unknown>[];
    assert.equal(health!.ReplicationHealth, 'Warning');
    assert.match((health!.ReplicationHealthDetails as string[])[0]!, /Initial replication of virtual machine 'web1' has not completed/);
    assert.equal(health!.SuccessfulReplicationCount, 0);
    assert.equal(health!.AverageReplicationLatency, null);
    assert.deepEqual(health!.CurrentTask, []);
  });

  it('set changes settings with Hyper-V validation', async () => {
    const set = await runCli(['replication', 'set', '--vm-name=web1', '--recovery-history=4', '--replication-frequency-sec=900', ...state]);
    assert.equal(set.exitCode, 0, JSON.stringify(set.json));
    const [rel] = set.json.result as Record<string, unknown>[];
    assert.equal(rel!.RecoveryHistory, 4);
    assert.equal(rel!.VSSSnapshotFrequencyHour, 4);
    assert.equal(rel!.VSSSnapshotReplicationEnabled, true);
    assert.equal(rel!.ReplicationFrequencySec, 900);
    assert.equal((await runCli(['replication', 'set', '--vm-name=web1', ...state])).exitCode, 2, 'nothing to change');
    assert.equal((await runCli(['replication', 'set', '--vm-name=web1', '--replication-frequency-sec=60', ...state])).exitCode, 2);
    const later = new Date(Date.now() + 86_400_000).toISOString();
    const scheduled = await runCli(['replication', 'set', '--vm-name=web1', `--initial-replication-start-time=${later}`, ...state]);
    assert.equal((scheduled.json.result as { InitialReplicationStartTime: string }[])[0]!.InitialReplicationStartTime, later);
    assert.equal((await runCli(['replication', 'set', '--vm-name=db1', '--recovery-history=1', ...state])).json.error?.code, 'ERR_REPLICATION_NOT_ENABLED');
  });

  it('resume refuses a relationship neither paused nor in error by its exact name, as Hyper-V does; a pattern leaves it as it is', async () => {
    const refused = await runCli(['replication', 'resume', '--vm-name=web1', ...state]);
    assert.equal(refused.exitCode, 4, JSON.stringify(refused.json));
    assert.equal(refused.json.error?.code, 'ERR_INVALID_STATE');
    assert.match(refused.json.error!.message, /replication of 'web1' cannot be resumed in state ReadyForInitialReplication: Resume-HvrVMReplication resumes a relationship that is Suspended/);
    const patterned = await runCli(['replication', 'resume', '--vm-name=web*', ...state]);
    assert.equal(patterned.exitCode, 0, JSON.stringify(patterned.json));
    assert.deepEqual((patterned.json.result as { ReplicationState: string }[]).map((r) => r.ReplicationState), ['ReadyForInitialReplication']);
    assert.equal((await runCli(['replication', 'suspend', '--vm-name=web1', ...state])).exitCode, 0);
    const resumed = await runCli(['replication', 'resume', '--vm-name=web1', ...state]);
    assert.deepEqual((resumed.json.result as { ReplicationState: string }[]).map((r) => r.ReplicationState), ['ReadyForInitialReplication'], 'no initial copy yet: it waits for one again');
  });

  it('resume of a relationship in Error whose initial copy was acknowledged moves it to Replicating at once, as Hyper-V does', async () => {
    const stateDir = state[1]!;
    await savePrimaryState(primaryStateFile(stateDir, web1.id), { formatVersion: 1, vmId: web1.id, generation: 1, sequence: 4, referencePoint: 'rp-4', disks: {} });
    const store = new RelationshipStore(stateDir);
    const before = (await store.get(web1.id))!;
    await store.update(web1.id, (current) => ({ next: { ...current!, ReplicationState: 'Error' }, result: undefined }));
    try {
      const resumed = await runCli(['replication', 'resume', '--vm-name=web1', ...state]);
      assert.equal(resumed.exitCode, 0, JSON.stringify(resumed.json));
      assert.deepEqual((resumed.json.result as { ReplicationState: string }[]).map((r) => r.ReplicationState), ['Replicating']);
      assert.equal((await store.get(web1.id))!.ReplicationState, 'Replicating', 'and so it is stored');
    } finally {
      await rm(primaryStateFile(stateDir, web1.id), { force: true });
      await store.update(web1.id, () => ({ next: before, result: undefined }));
    }
  });

  it('resume of a relationship in Error whose initial copy never completed leaves it for the agent to retry that copy', async () => {
    const store = new RelationshipStore(state[1]!);
    const before = (await store.get(web1.id))!;
    await store.update(web1.id, (current) => ({ next: { ...current!, ReplicationState: 'Error' }, result: undefined }));
    try {
      const resumed = await runCli(['replication', 'resume', '--vm-name=web1', ...state]);
      assert.equal(resumed.exitCode, 0, JSON.stringify(resumed.json));
      assert.deepEqual((resumed.json.result as { ReplicationState: string }[]).map((r) => r.ReplicationState), ['Error']);
    } finally {
      await store.update(web1.id, () => ({ next: before, result: undefined }));
    }
  });

  it('resume --continue refuses --resynchronize-start-time and --resynchronize, as the cmdlet refuses -ResynchronizeStartTime without -Resynchronize', async () => {
    for (const extra of [['--resynchronize-start-time=2030-01-01T00:00:00Z'], ['--resynchronize']]) {
      const run = await runCli(['replication', 'resume', '--vm-name=web1', '--continue', ...extra, ...state]);
      assert.equal(run.exitCode, 2, JSON.stringify(run.json));
      assert.equal(run.json.error?.code, 'ERR_INVALID_ARGUMENT');
      assert.match(run.json.error!.message, /--continue does not go with --resynchronize/);
    }
  });

  it('remove --replication-relationship-type Extended of a VM with no Extended relationship here says there is none to remove, not to enable one', async () => {
    const run = await runCli(['replication', 'remove', '--vm-name=web1', '--replication-relationship-type=Extended', ...state]);
    assert.equal(run.exitCode, 4, JSON.stringify(run.json));
    assert.equal(run.json.error?.code, 'ERR_REPLICATION_NOT_ENABLED');
    assert.match(run.json.error!.message, /VM 'web1' has no extended replication from this host, so there is none to remove/);
    assert.doesNotMatch(run.json.error!.message, /replication enable/);
    assert.equal((await runCli(['replication', 'get', '--vm-name=web1', ...state])).exitCode, 0, 'its Simple relationship stays');
  });

  it('reset-statistics and remove', async () => {
    assert.equal((await runCli(['replication', 'reset-statistics', '--vm-name=web1', ...state])).exitCode, 0);
    const removed = await runCli(['replication', 'remove', '--vm-name=web1', ...state]);
    assert.deepEqual((removed.json.result as { VMName: string; ReplicationState: string }[]).map((r) => [r.VMName, r.ReplicationState]), [['web1', 'ReadyForInitialReplication']]);
    assert.equal((await runCli(['replication', 'get', '--vm-name=web1', ...state])).json.error?.code, 'ERR_REPLICATION_NOT_ENABLED');
    assert.equal((await runCli(['replication', 'remove', '--vm-name=web1', ...state])).exitCode, 4);
  });
});
