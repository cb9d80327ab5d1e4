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
import { vmLogId } from '../../src/engine/index.js';
import { FileHost } from '../../src/host/file/file-host.js';
import { configureLogging } from '../../src/logging/logger.js';
import { openVhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';

configureLogging({ quietConsole: true });

export const MiB = 1024 * 1024;
export const PRIMARY_NAME = 'primary.e2e.test';

export interface CliResult {
  code: number | null;
  json: { ok: boolean; result?: unknown; error?: { code: string; message: string } };
  stderr: string;
}

export function cli(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args, '--json'], { env: { ...process.env, HVR_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      try {
        resolve({ code, json: JSON.parse(stdout) as CliResult['json'], stderr });
      } catch {
        reject(new Error(`hvreplica ${args.join(' ')} printed no JSON (exit ${code}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

export interface CycleJson {
  Kind: 'initial' | 'delta';
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
  static async create(options: { disks: number[]; storageLocation?: string; recoveryHistory?: number }): Promise<TwoHosts> {
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
      '--replication-frequency-sec=30', `--state-dir=${hosts.primaryState}`,
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
