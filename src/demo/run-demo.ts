/**
 * `hvreplica demo`: the whole product on one machine, in a temporary folder, with nothing faked. Two
 * state directories paired with generated certificates; a replica server as a child process
 * (`hvreplica server run`); a file-host VM with real VHDX disks; initial replication over TLS 1.3 with
 * progress; a guest workload writing while delta cycles run; a planned failover (the primary VM shut
 * down, its last changes sent, the VM brought up on the replica host from them); then proof: the failed-over
 * VM equals the primary as it shut down, and the replica at every recovery point equals the primary at that
 * reference point (SHA-256 per disk), after the server stopped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { replicateVm, type CycleReport } from '../agent/replicate-vm.js';
import { vmLogId } from '../engine/index.js';
import { FailoverSite } from '../failover/site.js';
import { prepareOverNetwork } from '../failover/network.js';
import { startFailover } from '../failover/failover.js';
import { FileHost } from '../host/file/file-host.js';
import { runWorkload } from '../host/file/workload.js';
import { VhdxImage } from '../host/vhdx-image.js';
import { enableRelationship, RelationshipStore, vmForReplication } from '../relationship/index.js';
import { openVhdxReplicaStorage } from '../storage/vhdx-replica-storage.js';
import type { DeliveryProgress } from '../transport/index.js';
import { formatBytes as fmt } from '../util/format-bytes.js';
import { hashDisk } from './content-hash.js';
import { pairHosts } from './pairing.js';
import { freePort, ServerProcess } from './server-process.js';

const MiB = 1024 * 1024;
const PRIMARY_NAME = 'primary.hvr-demo.test';
const REPLICA_NAME = 'replica.hvr-demo.test';

export interface DemoOptions {
  diskSizeMiB: number;
  disks: number;
  deltaCycles: number;
  /** Keep the temporary folder (its path is reported). */
  keep: boolean;
  /** Progress of the initial replication. */
  onProgress?: (progress: DeliveryProgress) => void;
  /** One line per step, for people. */
  say: (line: string) => void;
}

export interface DemoDiskProof {
  DiskId: string;
  PrimarySha256: string;
  ReplicaSha256: string;
  Equal: boolean;
}

export interface DemoPointProof {
  RecoveryPointId: string;
  Sequence: number;
  ReferencePoint: string;
  Equal: boolean;
}

export interface DemoFailoverProof {
  /** The replica's state after Start-VMFailover: FailedOverWaitingCompletion. */
  ReplicaState: string;
  /** Planned: the prepared last cycle, so nothing was lost. */
  FailedOverReplicationType: string;
  /** The VM registered on the replica host, and whether its disks equal the primary's at shutdown. */
  VMState: string;
  Equal: boolean;
  Hashes: DemoDiskProof[];
}

export interface DemoSummary {
  Verified: boolean;
  Folder: string | null;
  VMName: string;
  Disks: number;
  DiskSizeBytes: number;
  Cycles: number;
  InitialReplicationBytes: number;
  DeltaBytes: number;
  BytesSent: number;
  WorkloadBytesWritten: number;
  RecoveryPoints: DemoPointProof[];
  LastReferencePoint: string;
  Hashes: DemoDiskProof[];
  Failover: DemoFailoverProof;
  ReplicationState: string;
  SuccessfulReplicationCount: number;
  DurationSec: number;
}

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { say } = options;
  const started = performance.now();
  const folder = await mkdtemp(join(tmpdir(), 'hvreplica-demo-'));
  const primaryState = join(folder, 'primary');
  const replicaState = join(folder, 'replica');
  const storage = join(folder, 'replica-storage');
  let server: ServerProcess | undefined;
  try {
    say(`Working in ${folder}`);
    const port = await freePort();
    say('1. Pairing: a CA, a certificate per host, each trusting the CA; replica server enabled with an authorization entry');
    const pairing = await pairHosts({ primaryStateDir: primaryState, replicaStateDir: replicaState, storageLocation: storage, port, primaryName: PRIMARY_NAME, replicaName: REPLICA_NAME, trustGroup: 'demo' });
    say(`   primary ${PRIMARY_NAME} (${pairing.primaryThumbprint.slice(0, 12)}…), replica ${REPLICA_NAME} (${pairing.replicaThumbprint.slice(0, 12)}…), port ${port}`);

    say('2. Starting the replica server: hvreplica server run (TLS 1.3, mutual certificates)');
    // One recovery point per cycle instead of hourly, so that the demo has points to check.
    server = await ServerProcess.start({ stateDir: replicaState, args: ['--recovery-point-interval-sec=0.001'] });

    const host = new FileHost({ root: join(primaryState, 'vms') });
    const vm = await host.createVm({ name: 'demo-vm', disks: Array.from({ length: options.disks }, () => options.diskSizeMiB * MiB), blockSize: MiB });
    await host.startVm(vm.id);
    say(`3. File-host VM "demo-vm": ${options.disks} dynamic VHDX disks of ${options.diskSizeMiB} MiB; the guest writes its first data`);
    const seedBytes = Math.floor((options.disks * options.diskSizeMiB * MiB) / 3);
    let written = (await runWorkload(host, { vm: vm.id, seed: 1, maxBytes: seedBytes, hotFraction: 1, hotShare: 0, minSize: 64 * 1024, maxSize: 1024 * 1024 })).bytes;

    const store = new RelationshipStore(primaryState);
    const description = await host.getVm(vm.id);
    const rel = enableRelationship(
      vmForReplication(description),
      { ReplicaServerName: pairing.replicaServerName, ReplicaServerPort: port, AuthenticationType: 'Certificate', CertificateThumbprint: pairing.primaryThumbprint, RecoveryHistory: options.deltaCycles + 2, ReplicationFrequencySec: 30 },
      { primaryServerName: PRIMARY_NAME, now: new Date() },
    );
    await store.update(vm.id, () => ({ next: rel, result: undefined }));
    say(`4. Replication enabled: demo-vm → ${pairing.replicaServerName}:${port}, every 30 s`);

    const expected = new Map<string, string[]>();
    const primaryHashes = async (point: string) => {
      const hashes: string[] = [];
      for (const disk of description.disks) hashes.push(await hashDisk(await host.openDiskAt(vm.id, point, disk.id), disk.virtualSize));
      expected.set(point, hashes);
    };

    say('5. Initial replication');
    const reports: CycleReport[] = [];
    const initial = await replicateVm({ stateDir: primaryState, host, vm: vm.id, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
    reports.push(initial);
    say(`   sent ${fmt(initial.LogBytes)} of log for ${fmt(initial.ChangedBytes)} of disks in ${initial.LatencySec.toFixed(1)} s`);
    await primaryHashes(initial.ReferencePoint);

    say(`6. The guest keeps writing while ${options.deltaCycles} delta cycles run`);
    const stopWorkload = new AbortController();
    const workload = runWorkload(host, { vm: vm.id, seed: 2, rate: 4 * MiB, signal: stopWorkload.signal, batch: 4 });
    try {
      for (let cycle = 1; cycle <= options.deltaCycles; cycle += 1) {
        await sleep(700);
        const report = await replicateVm({ stateDir: primaryState, host, vm: vm.id });
        reports.push(report);
        say(`   cycle ${cycle}: ${fmt(report.ChangedBytes)} changed, ${fmt(report.LogBytes)} sent, ${report.LatencySec.toFixed(2)} s`);
        await primaryHashes(report.ReferencePoint);
      }
    } finally {
      stopWorkload.abort();
      written += (await workload).bytes;
    }

    say('7. Planned failover: the guest shuts down, its last changes go to the replica, the VM comes up there');
    await host.stopVm(vm.id);
    const primarySite = new FailoverSite({ name: PRIMARY_NAME, stateDir: primaryState });
    const prepared = await prepareOverNetwork(primarySite, host, vm.id);
    reports.push(prepared.cycle);
    await primaryHashes(prepared.cycle.ReferencePoint);
    say(`   prepared: the last cycle sent ${fmt(prepared.cycle.LogBytes)}; primary ${prepared.record.state}`);
    const replicaSite = new FailoverSite({ name: REPLICA_NAME, stateDir: replicaState });
    const failedOver = await startFailover(replicaSite, vm.id, { primary: primarySite });
    const atShutdown = expected.get(prepared.cycle.ReferencePoint)!;
    const failoverHashes: DemoDiskProof[] = [];
    for (const [i, disk] of (await replicaSite.host.getVm(vm.id)).disks.entries()) {
      const got = await hashDisk(await VhdxImage.open(disk.currentPath), disk.virtualSize);
      failoverHashes.push({ DiskId: disk.id, PrimarySha256: atShutdown[i]!, ReplicaSha256: got, Equal: got === atShutdown[i] });
    }
    const failover: DemoFailoverProof = {
      ReplicaState: failedOver.record.state,
      FailedOverReplicationType: failedOver.record.failedOverReplicationType,
      VMState: failedOver.vm.state,
      Equal: failoverHashes.every((h) => h.Equal),
      Hashes: failoverHashes,
    };
    say(`   ${REPLICA_NAME}: VM "${failedOver.vm.name}" registered from recovery point ${failedOver.point.id}, ${failover.ReplicaState} (${failover.FailedOverReplicationType})`);

    const final = await store.get(vm.id);
    say('8. Stopping the replica server, then comparing the replica with the primary');
    await server.stop();
    const replica = await openVhdxReplicaStorage(join(storage, 'hvreplica', vmLogId(vm.id)));
    const status = await replica.status();
    const points: DemoPointProof[] = [];
    for (const point of await replica.listRecoveryPoints()) {
      const want = expected.get(point.referencePoint);
      const got: string[] = [];
      for (const disk of status.disks) got.push(await hashDisk(await replica.openRecoveryPoint(point.id, disk.diskId), disk.virtualSize));
      points.push({ RecoveryPointId: point.id, Sequence: point.sequence, ReferencePoint: point.referencePoint, Equal: want !== undefined && want.every((h, i) => h === got[i]) });
    }
    const last = reports.at(-1)!;
    const lastHashes = expected.get(last.ReferencePoint)!;
    const hashes: DemoDiskProof[] = [];
    for (const [i, disk] of status.disks.entries()) {
      const replicaHash = await hashDisk(await replica.openLatest(disk.diskId), disk.virtualSize);
      hashes.push({ DiskId: disk.diskId, PrimarySha256: lastHashes[i]!, ReplicaSha256: replicaHash, Equal: replicaHash === lastHashes[i] });
    }
    const verified =
      status.referencePoint === last.ReferencePoint &&
      hashes.every((h) => h.Equal) &&
      // The planned last cycle is applied at once but sealed as a point of its own only when the server's
      // sweep gets to it before the failover: the latest state and the failed-over VM cover it either way.
      points.length >= reports.length - 1 &&
      points.every((p) => p.Equal) &&
      failover.Equal &&
      failover.FailedOverReplicationType === 'Planned';
    return {
      Verified: verified,
      Folder: options.keep ? folder : null,
      VMName: 'demo-vm',
      Disks: options.disks,
      DiskSizeBytes: options.diskSizeMiB * MiB,
      Cycles: reports.length,
      InitialReplicationBytes: initial.LogBytes,
      DeltaBytes: reports.slice(1).reduce((sum, r) => sum + r.LogBytes, 0),
      BytesSent: reports.reduce((sum, r) => sum + r.LogBytes, 0),
      WorkloadBytesWritten: written,
      RecoveryPoints: points,
      LastReferencePoint: last.ReferencePoint,
      Hashes: hashes,
      Failover: failover,
      ReplicationState: final?.ReplicationState ?? 'Disabled',
      SuccessfulReplicationCount: final?.Statistics.SuccessfulReplicationCount ?? 0,
      DurationSec: (performance.now() - started) / 1000,
    };
  } finally {
    await server?.kill();
    if (!options.keep) await rm(folder, { recursive: true, force: true });
  }
}
