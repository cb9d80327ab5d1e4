// The Windows x64 build of the RCT tracker, run in Windows node.exe under Wine: the GetProcAddress-resolved
// virtdisk table reports "not supported" where QueryChangesVirtualDisk is missing, and the loop over
// ProcessedLength behaves in the win32 build as on Linux. Loads HVR_WIN_ADDON (default:
// prebuilds/win32-x64/hvreplica.node, made by npm run build:win).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { runUnderWine } from '../helpers/wine.js';

type Outcome = Record<string, { ok?: unknown; error?: { code: string; errno: number; reason?: string; syscall?: string; message: string } } | unknown>;

describe('RCT tracker of the Windows addon under Wine', () => {
  let outcome: Outcome;

  before(() => {
    outcome = runUnderWine({ script: 'tracking/wine-rct.js', timeoutMs: 180_000 }).outcome as Outcome;
    assert.equal(outcome.failure, undefined, String(outcome.failure));
    assert.equal(outcome.platform, 'win32');
  });

  it('resolves virtdisk at run time and reports RCT as not supported where QueryChangesVirtualDisk is missing', () => {
    assert.equal((outcome.features as { resilientChangeTracking: boolean }).resilientChangeTracking, false);
    const error = (outcome.system as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'ERR_NOT_SUPPORTED');
    assert.match(error.message, /QueryChangesVirtualDisk/);
  });

  it('loops over partial results in the win32 build exactly as on Linux', () => {
    const expected = Array.from({ length: 10 }, (_, i) => [i * 50 * 1024 * 1024, 128 * 1024]);
    assert.deepEqual((outcome.changes as { ok: unknown }).ok, expected);
    assert.ok((outcome.queryCalls as number) >= 10);
  });

  it('maps an invalid id to "resync required" with the virtdisk status', () => {
    const error = (outcome.invalid as { error: { code: string; reason: string; errno: number } }).error;
    assert.deepEqual([error.code, error.reason, error.errno >>> 0], ['ERR_RESYNC_REQUIRED', 'invalid-id', 0xc03a0029]);
  });
});
