/**
 * PendingReplicationSize — the data at risk — read at the moment of the call, on the file host with real
 * VHDX layers and the checkpoint tracker: `replication measure` (the real CLI, another process) and the
 * agent's /metrics must show exactly the bytes the workload changed since the last acknowledged cycle.
 *
 * Rounding rule checked here: the checkpoint tracker's unit is the logical sector (512 bytes) and the
 * workload writes whole sectors, so the figure is exactly the union of the journal's extents (writes,
 * zero writes and trims; overlaps counted once). Before the first acknowledgement every allocated byte
 * is pending, and a dynamic VHDX allocates whole blocks: the union rounded out to blocks.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { primaryStateFile } from '../../src/agent/paths.js';
import { LocalSink, type DeliveryAck, type LogSink, type OutgoingCycle } from '../../src/engine/log-sink.js';
import { loadPrimaryState, savePrimaryState } from '../../src/engine/primary-state.js';
import { Replicator, replicaDisksOf } from '../../src/engine/replicator.js';
import { FileHost } from '../../src/host/file/file-host.js';
import type { JournalEntry } from '../../src/host/file/workload.js';
import type { HostAdapter } from '../../src/host/host-adapter.js';
import { carriesPendingSize, pendingReplicationSize, pendingSizeNow, RelationshipStore } from '../../src/relationship/index.js';
import { createCertificateAuthority, createHostCertificate, FileCertificateStore } from '../../src/security/index.js';
import { createVhdxReplicaStorage, type VhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { unionLength } from '../../src/tracking/extents.js';
import { tempDir } from '../helpers/paths.js';
import { runCli } from '../replica/run-cli.js';

const MiB = 1024 * 1024;
const VM = 'risk01';

/** A sink that holds a cycle until the test lets it go: "a cycle in flight". */
class GatedSink implements LogSink {
  private release: (() => void) | undefined;
  private entered: (() => void) | undefined;
  readonly reached = new Promise<void>((resolve) => (this.entered = resolve));
  constructor(private readonly inner: LogSink) {}
  open(): void {
    this.release?.();
  }
  async deliver(cycle: OutgoingCycle, signal?: AbortSignal): Promise<DeliveryAck> {
    const gate = new Promise<void>((resolve) => (this.release = resolve));
    this.entered?.();
    await gate;
    return this.inner.deliver(cycle, signal);
  }
}

describe('PendingReplicationSize (data at risk), file host', () => {
  const dir = tempDir('pending');
  const stateDir = join(dir.path, 'state');
  const state = [`--state-dir=${stateDir}`];
  const host = new FileHost({ root: join(stateDir, 'vms') });
  let vmId: string;
  let storage: VhdxReplicaStorage;
  let journals = 0;

  /** The workload CLI writes `bytes`; returns its journal. */
  async function workload(bytes: number, seed: number): Promise<JournalEntry[]> {
    const journal = join(dir.path, `journal-${(journals += 1)}.jsonl`);
    const run = await runCli(['workload', `--vm=${VM}`, `--seed=${seed}`, `--bytes=${bytes}`, '--max-size=64KiB', `--journal=${journal}`, ...state]);
    assert.equal(run.exitCode, 0, JSON.stringify(run.json));
    return (await readFile(journal, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as JournalEntry);
  }

  const union = (...journals: JournalEntry[][]): number => unionLength(journals.flat().map((e) => [e.offset, e.offset + e.length] as [number, number]));

  async function measured(): Promise<Record<string, unknown>> {
    const run = await runCli(['replication', 'measure', `--vm-name=${VM}`, ...state]);
    assert.equal(run.exitCode, 0, JSON.stringify(run.json));
    assert.equal(run.stderr.includes('cannot be read now'), false, run.stderr);
    const [health] = run.json.result as Record<string, unknown>[];
    return health!;
  }

  const replicator = (sink: LogSink) => new Replicator({ host, vm: vmId, sink, stateFile: primaryStateFile(stateDir, vmId) });

  before(async () => {
    const vm = await host.createVm({ name: VM, disks: [64 * MiB], blockSize: MiB });
    vmId = vm.id;
    await host.startVm(vmId);
    const ca = await createCertificateAuthority('pending CA');
    const cert = await createHostCertificate(ca, ['primary.pending.test']);
    const thumb = (await new FileCertificateStore(stateDir).importPem(cert.certificatePem, cert.privateKeyPem)).Thumbprint;
    const run = await runCli(['replication', 'enable', `--vm-name=${VM}`, '--replica-server-name=replica.pending.test', '--replica-server-port=443', '--authentication-type=Certificate', `--certificate-thumbprint=${thumb}`, ...state]);
    assert.equal(run.exitCode, 0, JSON.stringify(run.json));
    const spec = replicaDisksOf(await host.getVm(vmId));
    storage = await createVhdxReplicaStorage(join(dir.path, 'replica'), { ...spec, blockSize: MiB });
  });
  after(() => dir.cleanup());

  it('before the first acknowledgement: every allocated byte, i.e. the writes rounded out to whole VHDX blocks', async () => {
    const writes = await workload(2 * MiB, 1);
    const blocks = unionLength(writes.filter((e) => e.op !== 'trim').map((e) => [Math.floor(e.offset / MiB) * MiB, Math.ceil((e.offset + e.length) / MiB) * MiB] as [number, number]));
    const pending = (await measured()).PendingReplicationSize as number;
    assert.ok(pending >= union(writes.filter((e) => e.op === 'write')) && pending <= blocks, `${pending} bytes pending; written ${union(writes)}, in ${blocks} bytes of blocks`);
  });

  /** Journals written since the last acknowledged cycle. */
  let unacknowledged: JournalEntry[][] = [];

  it('after a cycle it is 0; after N bytes of workload it is exactly the union of their extents', async () => {
    await replicator(new LocalSink(storage)).syncOnce();
    assert.equal((await measured()).PendingReplicationSize, 0);
    unacknowledged = [await workload(3 * MiB, 2)];
    assert.equal((await measured()).PendingReplicationSize, union(...unacknowledged));
  });

  it('during a cycle: the cycle in flight plus what the guest writes meanwhile; after the acknowledgement only the latter', async () => {
    unacknowledged.push(await workload(MiB, 3));
    const gated = new GatedSink(new LocalSink(storage));
    const cycle = replicator(gated).syncOnce();
    await gated.reached;
    const meanwhile = await workload(MiB, 4);
    assert.equal((await measured()).PendingReplicationSize, union(...unacknowledged, meanwhile), 'the frozen cycle and the live writes');
    gated.open();
    await cycle;
    assert.equal((await measured()).PendingReplicationSize, union(meanwhile), 'only the writes after the acknowledged point');
    await replicator(new LocalSink(storage)).syncOnce();
    assert.equal((await measured()).PendingReplicationSize, 0);
  });

  it('the agent\'s /metrics gauge shows the same figure as measure', async () => {
    const writes = await workload(MiB, 5);
    const text = await new AgentMetrics(stateDir, () => new Date(), host).render();
    const line = text.split('\n').find((l) => l.startsWith('hvr_agent_pending_replication_bytes{'));
    assert.ok(line, text);
    assert.equal(line, `hvr_agent_pending_replication_bytes{vm="${VM}"} ${union(writes)}`);
    assert.equal((await measured()).PendingReplicationSize, union(writes));
  });

  it('tracking lost: the whole allocated disk is at risk (a resync decides what really differs)', async () => {
    const file = primaryStateFile(stateDir, vmId);
    const saved = (await loadPrimaryState(file))!;
    await savePrimaryState(file, { ...saved, disks: Object.fromEntries(Object.entries(saved.disks).map(([k, d]) => [k, { ...d, trackingId: 'a-point-that-never-was' }])) });
    try {
      const image = await host.openDiskAt(vmId, saved.referencePoint, (await host.getVm(vmId)).disks[0]!.id);
      const allocated = (await image.allocation!()).reduce((s, e) => s + (e.state === 'data' ? e.length : 0), 0);
      await image.close();
      const pending = await pendingReplicationSize(host, vmId, await loadPrimaryState(file));
      assert.ok(pending >= allocated, `${pending} ≥ ${allocated} allocated at the last point`);
    } finally {
      await savePrimaryState(file, saved);
    }
  });

  it('replica and extended rows stay 0 without asking any host (Hyper-V reports it on the primary only)', async () => {
    const rel = (await new RelationshipStore(stateDir).get(vmId))!;
    const untouchable = new Proxy({} as HostAdapter, {
      get: () => {
        throw new Error('a replica row must not query the host');
      },
    });
    for (const [mode, type] of [['Replica', 'Simple'], ['ExtendedReplica', 'Simple'], ['Primary', 'Extended']] as const) {
      const row = { ...rel, ReplicationMode: mode, ReplicationRelationshipType: type };
      assert.equal(carriesPendingSize(row), false);
      assert.equal(await pendingSizeNow(untouchable, row, primaryStateFile(stateDir, vmId)), 0);
    }
    assert.equal(carriesPendingSize(rel), true);
  });
});
