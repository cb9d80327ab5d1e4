// Runs inside Windows node.exe under Wine (not by node:test): loads the win32-x64 prebuild through the same
// TypeScript wrapper the CLI uses and records what happened as JSON in the file named by argv[2].
import { writeFileSync } from 'node:fs';
import { binding } from '../../src/native/binding.js';
import { NativeError } from '../../src/native/native-error.js';

interface Outcome {
  platform: string;
  execPath: string;
  version?: string;
  features?: unknown;
  rctError?: unknown;
  missingFileError?: unknown;
  ownSize?: number;
  failure?: string;
}

const outcome: Outcome = { platform: process.platform, execPath: process.execPath };
try {
  const addon = binding();
  outcome.version = addon.version();
  outcome.features = addon.hostFeatures();
  try {
    addon.requireHostFeature('resilientChangeTracking');
  } catch (error) {
    outcome.rctError = error instanceof NativeError ? error.toJSON() : String(error);
  }
  try {
    await addon.fileSize('Z:\\definitely\\not\\here.vhdx');
  } catch (error) {
    outcome.missingFileError = error instanceof NativeError ? error.toJSON() : String(error);
  }
  outcome.ownSize = await addon.fileSize(process.execPath);
} catch (error) {
  outcome.failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
writeFileSync(process.argv[2] ?? 'wine-smoke.json', JSON.stringify(outcome));
