// Runs inside Windows node.exe under Wine (started by wine-hyperv.test.ts, not by node:test): exercises the
// win32 build's Hyper-V code paths that Wine can run — COM/WMI up to the missing namespace, virtdisk
// resolved at run time, the event log, the service dispatcher outside the SCM, and the portable workflow
// against the WMI fake — and records each outcome as JSON in the file named by argv[2].
import { writeFileSync } from 'node:fs';
import { hypervBinding } from '../../src/host/hyperv/native.js';
import { NativeError } from '../../src/native/native-error.js';
import { FakeClock, FakeHyperV } from '../hyperv-unit/fake-hyperv.js';

const outcome: Record<string, unknown> = { platform: process.platform };

async function capture(name: string, run: () => Promise<unknown> | unknown): Promise<void> {
  try {
    outcome[name] = { ok: await run() };
  } catch (error) {
    outcome[name] = { error: error instanceof NativeError ? error.toJSON() : `${(error as Error).name}: ${(error as Error).message}` };
  }
}

try {
  const hv = hypervBinding();
  await capture('listVms', () => hv.listVms());
  await capture('openDisk', () => hv.openDisk({ path: 'Z:\\definitely\\not\\here.vhdx', readOnly: true }));
  await capture('reportEvent', () => hv.reportEvent('hvreplica-wine-test', 2, 1, 'hvreplica Wine test event'));
  await capture('serviceStart', () => hv.serviceStart('hvreplica-wine-test', () => undefined));
  const fake = new FakeHyperV();
  fake.addVm({ id: '0d2c4a5e-1b7f-4c3d-9e8a-6f5b4c3d2e1a', name: 'web01', disks: [{ path: 'D:\\os.vhdx' }] });
  fake.fail('CreateSnapshot', { hang: true, leaveSnapshot: true, once: true });
  await capture('fakeTimeout', () =>
    hv.createRecoveryCheckpoint({ vmId: '0d2c4a5e-1b7f-4c3d-9e8a-6f5b4c3d2e1a', consistency: 'crash', jobTimeoutMs: 5000, pollIntervalMs: 1000 }, { wmi: fake, clock: new FakeClock() }),
  );
  outcome.fakeSnapshotsLeft = fake.snapshotsOf('0d2c4a5e-1b7f-4c3d-9e8a-6f5b4c3d2e1a').length;
  await capture('fakeCheckpoint', async () => (await hv.createRecoveryCheckpoint({ vmId: '0d2c4a5e-1b7f-4c3d-9e8a-6f5b4c3d2e1a', consistency: 'application' }, { wmi: fake, clock: new FakeClock() })).frozenDisks);
} catch (error) {
  outcome.failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
writeFileSync(process.argv[2] ?? 'wine-hyperv.json', JSON.stringify(outcome));
