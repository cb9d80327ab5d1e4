// The Windows x64 build of the Hyper-V code under Wine: Wine has WMI but no root\virtualization\v2, a
// virtdisk.dll whose OpenVirtualDisk is a stub, and no Service Control Manager connection for a process it
// did not start — so these runs check the real COM/virtdisk/advapi paths up to where Wine stops, and
// that the portable workflow behaves the same in the win32 build. Loads the addon from HVR_WIN_ADDON
// (default: prebuilds/win32-x64/hvreplica.node, made by npm run build:win).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { runUnderWine } from '../helpers/wine.js';

type Result = { ok?: unknown; error?: { code: string; errno: number; syscall?: string; message: string } | string };

describe('Hyper-V code of the Windows addon under Wine', () => {
  let outcome: Record<string, unknown>;

  before(() => {
    outcome = runUnderWine({ script: 'hyperv-wine/wine-hyperv.js', timeoutMs: 180_000 }).outcome;
    assert.equal(outcome.failure, undefined, String(outcome.failure));
    assert.equal(outcome.platform, 'win32');
  });

  it('connects to WMI for real and explains the missing Hyper-V namespace', () => {
    const r = outcome.listVms as Result;
    const e = r.error as Exclude<Result['error'], string | undefined>;
    assert.equal(e.code, 'ERR_HYPERV_UNAVAILABLE');
    assert.equal(e.errno >>> 0, 0x8004100e);
    assert.equal(e.syscall, 'IWbemLocator::ConnectServer');
    assert.match(e.message, /WBEM_E_INVALID_NAMESPACE.*Install-WindowsFeature Hyper-V/);
  });

  it('resolves virtdisk at run time and maps its Win32 error', () => {
    const e = (outcome.openDisk as Result).error as Exclude<Result['error'], string | undefined>;
    assert.equal(e.syscall, 'OpenVirtualDisk');
    // Wine's OpenVirtualDisk stub answers ERROR_INVALID_PARAMETER; Windows answers ERROR_FILE_NOT_FOUND/PATH_NOT_FOUND.
    assert.ok([87, 2, 3].includes(e.errno), `unexpected Win32 error ${e.errno}`);
    assert.match(e.message, /OpenVirtualDisk failed for 'Z:\\definitely\\not\\here\.vhdx'/);
  });

  it('writes to the Application event log through advapi32 resolved at run time', () => {
    const r = outcome.reportEvent as Result;
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.ok('ok' in r || Object.keys(r).length === 0);
  });

  it('refuses to act as a service when the SCM did not start the process', () => {
    const e = (outcome.serviceStart as Result).error as Exclude<Result['error'], string | undefined>;
    assert.equal(e.syscall, 'StartServiceCtrlDispatcherW');
    assert.equal(e.errno, 1063);
    assert.equal(e.code, 'ERR_NOT_SUPPORTED');
    assert.match(e.message, /not started by the Service Control Manager.*service install/);
  });

  it('runs the portable checkpoint workflow the same way in the win32 build', () => {
    const e = (outcome.fakeTimeout as Result).error as Exclude<Result['error'], string | undefined>;
    assert.equal(e.code, 'ERR_TIMEOUT');
    assert.match(e.message, /did not finish within 5 s/);
    assert.equal(outcome.fakeSnapshotsLeft, 0);
    const disks = (outcome.fakeCheckpoint as Result).ok as Array<{ path: string }>;
    assert.deepEqual(disks.map((d) => d.path), ['D:\\os.vhdx']);
  });

  it('refuses the gated real-host suite under Wine, saying why, instead of skipping it', () => {
    const gate = outcome.gate as { run: boolean; refuse?: string; skip?: string };
    assert.equal(gate.run, false);
    assert.equal(gate.skip, undefined, 'never a skip under Wine');
    assert.match(gate.refuse ?? '', /cannot run under Wine: Wine has no Hyper-V.*real Hyper-V host/);
  });

  it('sends IPv6 and dual-stack failover settings with their protocol type in the win32 build', () => {
    const r = outcome.fakeIpv6 as { ok?: Record<string, unknown>; error?: unknown };
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.deepEqual([r.ok!.ProtocolIFType, r.ok!.IPAddresses, r.ok!.Subnets, r.ok!.DNSServers], [4098, ['10.0.0.5', 'fd00::5'], ['255.255.255.0', '64'], ['fd00::53']]);
  });

  it('writes the shipped configuration under a Windows path and imports the .vmcx from there', () => {
    const r = outcome.shipping as { ok?: { files: string[]; imported: string[]; replicaId: string; location: string }; error?: unknown };
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.deepEqual(r.ok!.files.sort(), ['Virtual Machines/2D2C4A5E-1B7F-4C3D-9E8A-6F5B4C3D2E1A.vmcx', 'Virtual Machines/2D2C4A5E-1B7F-4C3D-9E8A-6F5B4C3D2E1A.vmgs']);
    assert.deepEqual(r.ok!.imported, [`${r.ok!.location}\\Virtual Machines\\2D2C4A5E-1B7F-4C3D-9E8A-6F5B4C3D2E1A.vmcx`]);
    assert.equal(r.ok!.replicaId, '2d2c4a5e-1b7f-4c3d-9e8a-6f5b4c3d2e1a');
  });

  it('moves a failed-over VM off the recovery point\'s chain with Windows paths: same content, the old chain gone', () => {
    const r = outcome.rebase as { ok?: { current: string; folder: string; layerLeft: boolean; head: boolean; parent: string | null }; error?: unknown };
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.ok(r.ok!.current.startsWith(`${r.ok!.folder}\\`), r.ok!.current);
    assert.match(r.ok!.parent ?? '', /^[A-Z]:\\.*\.vhdx$/i, 'the new layer names its standalone base by a Windows path');
    assert.ok(r.ok!.parent!.startsWith(r.ok!.folder), 'and that base is in the folder, not the deleted chain');
    assert.equal(r.ok!.layerLeft, false, 'the previous layer is deleted');
    assert.equal(r.ok!.head, true, 'the content the chain held reads through the new disk');
  });
});
