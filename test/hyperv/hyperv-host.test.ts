/**
 * The gated Hyper-V suite: runs on a real Hyper-V host (Windows Server 2016+ or Windows 10/11 with the
 * Hyper-V role), from an elevated prompt, with HVR_TEST_HYPERV=1. Without it every test reports itself
 * as skipped with the reason (never silently). See docs/hyperv.md for the exact procedure.
 *
 * Part 1 drives the Hyper-V host adapter directly (real WMI, virtdisk and RCT): a small generation-2 VM
 * with one 64 MiB VHDX and no guest OS; reference points, frozen reads, RCT changes, no stray checkpoint.
 * Part 2 runs the whole product through the CLI (docs/cli-contract.md): replication to localhost, a test
 * failover, a planned failover, cleanup. Part 2 needs the replication engine and replica server.
 *
 * Environment: HVR_TEST_HYPERV=1 (required), HVR_TEST_HYPERV_DIR (work folder, default
 * C:\hvr-test), HVR_TEST_HYPERV_SWITCH (a virtual switch for the VM's adapter, optional).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HyperVHost } from '../../src/host/hyperv/hyperv-host.js';
import { hypervBinding } from '../../src/host/hyperv/native.js';
import { collectChanges } from '../../src/tracking/change-tracker.js';
import { runCli } from '../helpers/cli.js';

const enabled = process.env.HVR_TEST_HYPERV === '1';
const skip = enabled ? false : 'set HVR_TEST_HYPERV=1 on an elevated Hyper-V host to run (docs/hyperv.md)';
const work = process.env.HVR_TEST_HYPERV_DIR ?? 'C:\\hvr-test';
const vmName = `hvr-test-${process.pid}`;
const diskPath = join(work, vmName, 'disk0.vhdx');
const stateDir = join(work, 'state');
const replicaDir = join(work, 'replica');
const MiB = 1024 * 1024;

function ps(script: string): string {
  const r = spawnSync('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', `$ErrorActionPreference='Stop'; ${script}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, `PowerShell failed: ${script}\n${r.stderr}`);
  return r.stdout.trim();
}

function pattern(seed: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

async function writeDisk(path: string, offset: number, data: Buffer): Promise<void> {
  const hv = hypervBinding();
  const disk = await hv.openDisk({ path, readOnly: false });
  try {
    await hv.writeDisk(disk.id, offset, data);
  } finally {
    hv.closeDisk(disk.id);
  }
}

function cli(args: string[]) {
  const run = runCli([...args, '--json', `--state-dir=${stateDir}`]);
  assert.equal(run.json?.ok, true, `hvreplica ${args.join(' ')} failed: ${run.stdout}${run.stderr}`);
  return run.json!.result;
}

describe('Hyper-V host (real)', { skip }, () => {
  let vmId = '';
  const host = new HyperVHost({ stateDir, timeouts: { jobTimeoutMs: 5 * 60_000, pollIntervalMs: 500 } });

  before(async () => {
    assert.equal(process.platform, 'win32', 'the Hyper-V suite runs on Windows');
    rmSync(join(work, vmName), { recursive: true, force: true });
    mkdirSync(join(work, vmName), { recursive: true });
    ps(`New-VHD -Path '${diskPath}' -SizeBytes 64MB -Dynamic | Out-Null`);
    // Known content before the first reference point: written through virtdisk Raw IO, as replica disks are.
    await writeDisk(diskPath, 0, pattern(1, 4 * MiB));
    const sw = process.env.HVR_TEST_HYPERV_SWITCH;
    vmId = ps(
      `$vm = New-VM -Name '${vmName}' -Generation 2 -MemoryStartupBytes 512MB -VHDPath '${diskPath}' -Path '${work}'${sw ? ` -SwitchName '${sw}'` : ''}; $vm.Id.Guid`,
    );
  });

  after(() => {
    if (!vmId) return;
    spawnSync('powershell.exe', ['-NoProfile', '-Command', `Get-VM -Id '${vmId}' -ErrorAction SilentlyContinue | Stop-VM -TurnOff -Force -ErrorAction SilentlyContinue; Get-VM -Id '${vmId}' -ErrorAction SilentlyContinue | Remove-VM -Force`]);
    spawnSync('powershell.exe', ['-NoProfile', '-Command', `Get-VM -Name '${vmName}*' -ErrorAction SilentlyContinue | Stop-VM -TurnOff -Force -ErrorAction SilentlyContinue; Get-VM -Name '${vmName}*' -ErrorAction SilentlyContinue | Remove-VM -Force`]);
    rmSync(join(work, vmName), { recursive: true, force: true });
    rmSync(replicaDir, { recursive: true, force: true });
  });

  it('describes the VM: generation, memory, one disk, RCT-capable configuration version', async () => {
    const vm = await host.getVm(vmName);
    assert.equal(vm.id, vmId);
    assert.equal(vm.configuration.generation, 2);
    assert.equal(vm.configuration.memoryBytes, 512 * MiB);
    assert.equal(vm.disks.length, 1);
    assert.equal(vm.disks[0]!.virtualSize, 64 * MiB);
    assert.equal(vm.disks[0]!.basePath.toLowerCase(), diskPath.toLowerCase());
  });

  it('takes reference points, reads the frozen disk, lists RCT changes, and leaves no checkpoint', async () => {
    const vm = await host.getVm(vmId);
    const diskId = vm.disks[0]!.id;
    // No guest OS, so no integration services: the application-consistent request must fall back.
    const p1 = await host.createReferencePoint(vmId, { consistency: 'application' });
    assert.equal(p1.consistency, 'crash');
    assert.equal(p1.tracker, 'rct');
    const image = await host.openDiskAt(vmId, p1.id, diskId);
    assert.ok((await image.read(MiB, 64 * 1024)).equals(pattern(1, 4 * MiB).subarray(MiB, MiB + 64 * 1024)));
    await image.close();
    const c1 = await host.commitReferencePoint(vmId, p1.id);
    assert.match(c1.disks[0]!.trackingId, /^rct/i);
    assert.equal(ps(`@(Get-VMSnapshot -VMName '${vmName}' -SnapshotType Recovery).Count`), '0');

    // The VM is off: its disk is the base VHDX again; change 1 MiB at 8 MiB.
    await writeDisk(diskPath, 8 * MiB, pattern(2, MiB));
    const p2 = await host.createReferencePoint(vmId);
    const tracker = await host.changeTracker(vmId, p2.id, diskId);
    const changes = await collectChanges(tracker.changesSince(c1.disks[0]!.trackingId));
    await tracker.close();
    assert.ok(changes.some((c) => c.offset <= 8 * MiB && c.offset + c.length >= 9 * MiB), JSON.stringify(changes));
    assert.ok(changes.every((c) => c.offset + c.length <= 64 * MiB));
    await host.commitReferencePoint(vmId, p2.id);
    assert.equal(ps(`@(Get-VMSnapshot -VMName '${vmName}' -SnapshotType Recovery).Count`), '0');
    const points = await hypervBinding().listReferencePoints({ vmId });
    assert.equal(points.length, 1, 'the older reference point was destroyed');
  });

  it('a discarded point leaves no checkpoint behind', async () => {
    const p = await host.createReferencePoint(vmId);
    await host.discardReferencePoint(vmId, p.id);
    assert.equal(ps(`@(Get-VMSnapshot -VMName '${vmName}').Count`), '0');
  });

  it('starts and stops the VM', async () => {
    assert.equal((await host.startVm(vmId)).state, 'running');
    assert.equal((await host.stopVm(vmId, { force: true })).state, 'off');
  });

  // Part 2: the product end to end. Needs the replica server, the agent/engine and failover commands.
  it('replicates to localhost, runs a test failover, fails over and cleans up (CLI)', () => {
    const fqdn = ps('[System.Net.Dns]::GetHostEntry([string]$env:COMPUTERNAME).HostName') || hostname();
    mkdirSync(replicaDir, { recursive: true });
    cli(['server', 'set', '--replication-enabled=true', '--allowed-authentication-type=Certificate']);
    cli(['auth', 'add', `--allowed-primary-server=${fqdn}`, `--replica-storage-location=${replicaDir}`, '--trust-group=hvr-test']);
    const server = cli(['server', 'get']) as Record<string, unknown>;
    const thumb = String(server.CertificateThumbprint ?? '');
    const port = String(server.CertificateAuthenticationPort ?? 443);
    assert.ok(thumb, 'the replica server has no certificate: configure one with the cert commands first (docs/hyperv.md)');
    cli(['connection', 'test', `--replica-server-name=${fqdn}`, `--replica-server-port=${port}`, '--authentication-type=Certificate', `--certificate-thumbprint=${thumb}`]);
    cli(['replication', 'enable', `--vm-name=${vmName}`, `--replica-server-name=${fqdn}`, `--replica-server-port=${port}`, '--authentication-type=Certificate', `--certificate-thumbprint=${thumb}`, '--replication-frequency-sec=30']);
    cli(['initial', 'start', `--vm-name=${vmName}`]);
    const deadline = Date.now() + 10 * 60_000;
    let state = '';
    while (Date.now() < deadline) {
      const rel = (cli(['replication', 'get', `--vm-name=${vmName}`, '--replication-mode=Primary']) as Array<Record<string, unknown>>)[0]!;
      state = String(rel.ReplicationState);
      if (state === 'Replicating') break;
      spawnSync('powershell.exe', ['-NoProfile', '-Command', 'Start-Sleep -Seconds 5']);
    }
    assert.equal(state, 'Replicating');

    const test = cli(['failover', 'start', `--vm-name=${vmName}`, '--as-test']) as Array<Record<string, unknown>>;
    assert.equal(test[0]!.Name, `${vmName} - Test`);
    assert.equal(ps(`@(Get-VMNetworkAdapter -VMName '${vmName} - Test' | Where-Object SwitchName).Count`), '0', 'the test VM is disconnected');
    cli(['failover', 'stop', `--vm-name=${vmName}`]);
    assert.equal(ps(`@(Get-VM -Name '${vmName} - Test' -ErrorAction SilentlyContinue).Count`), '0');

    ps(`Stop-VM -Name '${vmName}' -TurnOff -Force`);
    cli(['failover', 'start', `--vm-name=${vmName}`, '--prepare']);
    const failedOver = cli(['failover', 'start', `--vm-name=${vmName}`]) as Array<Record<string, unknown>>;
    cli(['failover', 'complete', `--vm-name=${vmName}`]);
    assert.ok(failedOver[0]!.Id);

    cli(['replication', 'remove', `--vm-name=${vmName}`]);
    assert.equal(ps(`@(Get-VMSnapshot -VMName '${vmName}' -SnapshotType Recovery).Count`), '0');
  });
});
