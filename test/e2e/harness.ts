/**
 * Two hosts on loopback for end-to-end tests: paired state directories, a replica server child process,
 * a file-host VM on the primary, replication enabled and cycles run through the real CLI, and the checks
 * that matter: the replica's content at each recovery point against the primary's at that point.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashDisk } from '../../src/demo/content-hash.js';
import { pairHosts, type Pairing } from '../../src/demo/pairing.js';
import { CLI_PATH, freePort, ServerProcess } from '../../src/demo/server-process.js';
import { spoolDir } from '../../src/agent/paths.js';
import type { ReplicaConnection } from '../../src/agent/hash-sync.js';
import { vmLogId, type SchedulerTimer } from '../../src/engine/index.js';
import { FileCertificateStore } from '../../src/security/index.js';
import { FileHost } from '../../src/host/file/file-host.js';
import { configureLogging } from '../../src/logging/logger.js';
import { openVhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { withStorageLock } from '../../src/replica/storage-lock.js';

configureLogging({ quietConsole: true });

export const MiB = 1024 * 1024;

/** Scheduler ticks fired by the test, never by the clock (for an in-process Agent). */
export class ManualTimer implements SchedulerTimer {
  private callbacks = new Map<number, () => void>();
  private next = 0;
  set(callback: () => void): unknown {
    this.next += 1;
    this.callbacks.set(this.next, callback);
    return this.next;
  }
  clear(handle: unknown): void {
    this.callbacks.delete(handle as number);
  }
  fireAll(): void {
    const pending = [...this.callbacks.entries()];
    for (const [handle, callback] of pending) {
      this.callbacks.delete(handle);
      callback();
    }
  }
}
export const PRIMARY_NAME = 'primary.e2e.test';

export interface CliResult {
  code: number | null;
  json: { ok: boolean; result?: unknown; error?: { code: string; message: string } };
  stderr: string;
}

/** `hvreplica <args> --json` as a child a test can pause or watch: `stderr()` so far, and its result once it exits. */
export function cliChild(args: string[]): { kill: (signal: NodeJS.Signals) => void; stderr: () => string; result: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI_PATH, ...args, '--json'], { env: { ...process.env, HVR_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const result = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    // 'close', not 'exit': the child's stdout may still hold unread output when it has exited (seen under load).
    child.once('close', (code) => {
      try {
        resolve({ code, json: JSON.parse(stdout) as CliResult['json'], stderr });
      } catch {
        reject(new Error(`hvreplica ${args.join(' ')} printed no JSON (exit ${code}):\n${stdout}\n${stderr}`));
      }
    });
  });
  return { kill: (signal) => child.kill(signal), stderr: () => stderr, result };
}

export function cli(args: string[]): Promise<CliResult> {
  return cliChild(args).result;
}

export interface CycleJson {
  Kind: 'initial' | 'delta' | 'resync';
  Sequence: number;
  ReferencePoint: string;
  LogBytes: number;
}

export class TwoHosts {
  server: ServerProcess | undefined;
  readonly expected = new Map<string, string[]>();

  private constructor(
    readonly root: string,
    readonly port: number,
    readonly pairing: Pairing,
    readonly host: FileHost,
    readonly vmId: string,
    readonly storageLocation: string,
  ) {}

  get primaryState(): string {
    return join(this.root, 'primary');
  }

  get replicaState(): string {
    return join(this.root, 'replica');
  }

  get replicaDir(): string {
    return join(this.storageLocation, 'hvreplica', vmLogId(this.vmId));
  }

  /** Pairs two state folders, creates VM "vm1" with the given disks and enables replication through the CLI. */
  static async create(options: { disks: number[]; storageLocation?: string; recoveryHistory?: number; frequencySec?: number }): Promise<TwoHosts> {
    const root = await mkdtemp(join(tmpdir(), 'hvr-e2e-'));
    const storageLocation = options.storageLocation ?? join(root, 'storage');
    const port = await freePort();
    const pairing = await pairHosts({ primaryStateDir: join(root, 'primary'), replicaStateDir: join(root, 'replica'), storageLocation, port, primaryName: PRIMARY_NAME, replicaName: 'replica.e2e.test', trustGroup: 'e2e' });
    const host = new FileHost({ root: join(root, 'primary', 'vms') });
    const vm = await host.createVm({ name: 'vm1', disks: options.disks, blockSize: MiB });
    await host.startVm(vm.id);
    const hosts = new TwoHosts(root, port, pairing, host, vm.id, storageLocation);
    const enabled = await cli([
      'replication', 'enable', '--vm-name=vm1', `--replica-server-name=${pairing.replicaServerName}`, `--replica-server-port=${port}`,
      '--authentication-type=Certificate', `--certificate-thumbprint=${pairing.primaryThumbprint}`, `--recovery-history=${options.recoveryHistory ?? 24}`,
      `--replication-frequency-sec=${options.frequencySec ?? 30}`, `--state-dir=${hosts.primaryState}`,
    ]);
    assert.equal(enabled.code, 0, JSON.stringify(enabled.json));
    return hosts;
  }

  /** Starts the replica server; a recovery point per cycle so that every cycle can be checked. */
  async startServer(): Promise<ServerProcess> {
    this.server = await ServerProcess.start({ stateDir: this.replicaState, args: ['--recovery-point-interval-sec=0.001'] });
    return this.server;
  }

  /** One cycle through `hvreplica replicate`; on success remembers the primary's hashes at its point. */
  async replicate(): Promise<CliResult & { cycle?: CycleJson }> {
    const run = await cli(['replicate', '--vm=vm1', `--state-dir=${this.primaryState}`]);
    if (run.code !== 0) return run;
    const cycle = run.json.result as CycleJson;
    await this.rememberPrimary(cycle.ReferencePoint);
    return { ...run, cycle };
  }

  /** `hvreplica workload` writing into the primary's VM (e.g. `--seed=3`, `--bytes=1MiB`). */
  async workload(args: string[]): Promise<void> {
    const run = await cli(['workload', '--vm=vm1', ...args, `--state-dir=${this.primaryState}`]);
    assert.equal(run.code, 0, `hvreplica workload ${args.join(' ')}: ${JSON.stringify(run.json)}`);
  }

  /** How the primary reaches the replica server, as its agent does (for in-process primitives). */
  async connection(): Promise<ReplicaConnection> {
    return {
      endpoint: { serverName: this.pairing.replicaServerName, port: this.port },
      credential: await new FileCertificateStore(this.primaryState).credential(this.pairing.primaryThumbprint),
      spoolDir: spoolDir(this.primaryState),
      retry: { attempts: 2, backoffMs: () => 100 },
    };
  }

  async rememberPrimary(point: string): Promise<void> {
    const hashes: string[] = [];
    for (const disk of (await this.host.getVm(this.vmId)).disks) hashes.push(await hashDisk(await this.host.openDiskAt(this.vmId, point, disk.id), disk.virtualSize));
    this.expected.set(point, hashes);
  }

  /**
   * With the server stopped: every recovery point whose reference point the primary still knew equals
   * the primary there, and the latest state equals the primary at `lastPoint`. Returns the points checked.
   */
  async verifyReplica(lastPoint: string): Promise<number> {
    assert.ok(!this.server?.running, 'stop the server before reading its storage');
    const storage = await openVhdxReplicaStorage(this.replicaDir);
    const status = await storage.status();
    assert.equal(status.referencePoint, lastPoint, 'the replica is at the last acknowledged reference point');
    let checked = 0;
    for (const point of await storage.listRecoveryPoints()) {
      const want = this.expected.get(point.referencePoint);
      if (!want) continue;
      const got: string[] = [];
      for (const disk of status.disks) got.push(await hashDisk(await storage.openRecoveryPoint(point.id, disk.diskId), disk.virtualSize));
      assert.deepEqual(got, want, `recovery point ${point.generation}/${point.sequence} (${point.referencePoint})`);
      checked += 1;
    }
    const latest: string[] = [];
    for (const disk of status.disks) latest.push(await hashDisk(await storage.openLatest(disk.diskId), disk.virtualSize));
    assert.deepEqual(latest, this.expected.get(lastPoint), 'latest replica state');
    return checked;
  }

  async dispose(): Promise<void> {
    await this.server?.kill();
    await rm(this.root, { recursive: true, force: true });
  }
}

export const EXTENDED_NAME = 'extended.e2e.test';

/** SHA-256 of each disk of a replica's latest applied content, read under its storage lock (servers may run). */
export async function latestContent(storagePath: string): Promise<{ position: string | null; referencePoint: string; hashes: string[] }> {
  return withStorageLock(storagePath, 'test: read latest', async () => {
    const storage = await openVhdxReplicaStorage(storagePath);
    const status = await storage.status();
    const hashes: string[] = [];
    for (const disk of status.disks) hashes.push(await hashDisk(await storage.openLatest(disk.diskId), disk.virtualSize));
    // `<generation>/<sequence>`: how extended replication names a replica's content (with `@<reference point>`).
    return { position: status.position ? `${status.position.generation}/${status.position.sequence}` : null, referencePoint: status.referencePoint, hashes };
  });
}

/**
 * A→B→C on loopback: the TwoHosts pair (A primary, B its replica server) plus a third state directory C,
 * paired with B the same way (B's second certificate is its identity as C's primary), with its own
 * `hvreplica server run`. Extended replication is enabled and run on B through the CLI.
 */
export class ThreeHosts {
  serverC: ServerProcess | undefined;

  private constructor(
    readonly ab: TwoHosts,
    readonly portC: number,
    readonly pairingBC: Pairing,
    readonly storageC: string,
  ) {}

  static async create(options: { disks: number[]; frequencySec?: number; recoveryHistory?: number }): Promise<ThreeHosts> {
    const ab = await TwoHosts.create(options);
    const portC = await freePort();
    const storageC = join(ab.root, 'storage-c');
    const pairingBC = await pairHosts({
      primaryStateDir: ab.replicaState,
      replicaStateDir: join(ab.root, 'extended'),
      storageLocation: storageC,
      port: portC,
      primaryName: 'replica.e2e.test',
      replicaName: EXTENDED_NAME,
      trustGroup: 'e2e-extended',
    });
    return new ThreeHosts(ab, portC, pairingBC, storageC);
  }

  get primaryState(): string {
    return this.ab.primaryState;
  }

  /** B: the replica server of A, and the sender of the extended replication. */
  get replicaState(): string {
    return this.ab.replicaState;
  }

  /** C: the extended replica server. */
  get extendedState(): string {
    return join(this.ab.root, 'extended');
  }

  get extendedDir(): string {
    return join(this.storageC, 'hvreplica', vmLogId(this.ab.vmId));
  }

  /** Starts B's and C's replica servers (a recovery point per cycle on both). */
  async startServers(): Promise<void> {
    await this.ab.startServer();
    await this.startServerC();
  }

  async startServerC(): Promise<ServerProcess> {
    this.serverC = await ServerProcess.start({ stateDir: this.extendedState, args: ['--recovery-point-interval-sec=0.001'] });
    return this.serverC;
  }

  /** `replication enable` on B for its replica vm1 towards C; `extra` adds or overrides options. */
  enableExtended(extra: string[] = []): Promise<CliResult> {
    return cli([
      'replication', 'enable', '--vm-name=vm1', `--replica-server-name=${this.pairingBC.replicaServerName}`, `--replica-server-port=${this.portC}`,
      '--authentication-type=Certificate', `--certificate-thumbprint=${this.pairingBC.primaryThumbprint}`, `--state-dir=${this.replicaState}`, ...extra,
    ]);
  }

  /** One extended cycle through `hvreplica replicate --extended` on B. */
  replicateExtended(): Promise<CliResult> {
    return cli(['replicate', '--vm=vm1', '--extended', `--state-dir=${this.replicaState}`]);
  }

  /** C's latest content equals B's, disk for disk by SHA-256, and names B's position. */
  async verifyExtended(): Promise<{ b: Awaited<ReturnType<typeof latestContent>>; c: Awaited<ReturnType<typeof latestContent>> }> {
    const b = await latestContent(this.ab.replicaDir);
    const c = await latestContent(this.extendedDir);
    assert.deepEqual(c.hashes, b.hashes, 'the extended replica holds B\'s latest applied content');
    assert.equal(c.referencePoint, `${b.position}@${b.referencePoint}`, 'C names the content by B\'s position and A\'s reference point');
    return { b, c };
  }

  async dispose(): Promise<void> {
    await this.serverC?.kill();
    await this.ab.dispose();
  }
}

/** SHA-256 of each disk of a file-host VM as its guest sees it now. */
export async function vmHashes(host: FileHost, vm: string): Promise<string[]> {
  const { openDisk } = await import('../../src/vhdx/index.js');
  const out: string[] = [];
  for (const disk of (await host.getVm(vm)).disks) {
    const image = await openDisk(disk.currentPath);
    out.push(await hashDisk(image, disk.virtualSize));
  }
  return out;
}
