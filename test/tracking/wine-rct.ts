// Runs inside Windows node.exe under Wine (started by wine-rct.test.ts, not by node:test): the win32 build
// of the RCT tracker — the system table resolved with GetProcAddress (Wine's virtdisk.dll has no
// QueryChangesVirtualDisk, so it must say "not supported" instead of crashing) and the loop over the fake —
// and records each outcome as JSON in the file named by argv[2].
import { writeFileSync } from 'node:fs';
import { binding } from '../../src/native/binding.js';
import { NativeError } from '../../src/native/native-error.js';
import { collectChanges, ResyncRequiredError } from '../../src/tracking/change-tracker.js';
import { FakeVirtDisk } from '../../src/tracking/rct/fake-virtdisk.js';
import { RctTracker } from '../../src/tracking/rct/rct-tracker.js';

const outcome: Record<string, unknown> = { platform: process.platform };

async function capture(name: string, run: () => Promise<unknown> | unknown): Promise<void> {
  try {
    outcome[name] = { ok: await run() };
  } catch (error) {
    if (error instanceof ResyncRequiredError) outcome[name] = { error: { code: error.code, reason: error.reason, errno: error.errno, message: error.message } };
    else outcome[name] = { error: error instanceof NativeError ? error.toJSON() : `${(error as Error).name}: ${(error as Error).message}` };
  }
}

try {
  outcome.features = binding().hostFeatures();
  await capture('system', () => RctTracker.open({ path: 'Z:\\definitely\\not\\here.vhdx' }));
  const fake = new FakeVirtDisk();
  const path = 'D:\\VMs\\web01\\disk0.vhdx';
  fake.addDisk(path, { virtualSize: 1024 * 1024 * 1024, granularity: 64 * 1024 });
  const tracker = await RctTracker.open({ path, virtdisk: fake, granularity: 64 * 1024, pageRanges: 2 });
  const first = await tracker.enable();
  for (let i = 0; i < 10; i++) fake.write(path, i * 50 * 1024 * 1024 + 4096, 100 * 1024);
  fake.seal(path);
  fake.setQueryBehaviour(path, { maxRangesPerCall: 1, partialStatus: 234 });
  await capture('changes', async () => (await collectChanges(tracker.changesSince(first))).map((e) => [e.offset, e.length]));
  outcome.queryCalls = fake.queryCalls(path);
  await capture('invalid', () => collectChanges(tracker.changesSince(first.replace(/:\d+$/, ':00000099'))));
  await tracker.close();
} catch (error) {
  outcome.failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
writeFileSync(process.argv[2] ?? 'wine-rct.json', JSON.stringify(outcome));
