// Runs inside Windows node.exe under Wine (not by node:test): loads the win32-x64 prebuild through the same
// TypeScript wrapper the CLI uses and records what happened as JSON in the file named by argv[2].
import { writeFileSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  /** markSparse on a file another handle has open for writing (as the replica server's received log is). */
  sparse?: boolean;
  sparseThenWritten?: number;
  sparseMissingError?: unknown;
  /** processStartIdentity of this process twice, and of a process id no process has. */
  ownStart?: [string | undefined, string | undefined];
  noProcessStart?: string | null;
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
  outcome.ownStart = [addon.processStartIdentity(process.pid), addon.processStartIdentity(process.pid)];
  // Windows process ids are multiples of 4: this one is never given to a process.
  outcome.noProcessStart = addon.processStartIdentity(4_294_967_295) ?? null;
  const sparseFile = join(tmpdir(), `hvr-sparse-${process.pid}.bin`);
  const writer = await open(sparseFile, 'w');
  try {
    outcome.sparse = await addon.markSparse(sparseFile);
    await writer.write(Buffer.alloc(4096, 1), 0, 4096, 8 * 1024 * 1024);
    await writer.sync();
    outcome.sparseThenWritten = (await writer.stat()).size;
  } finally {
    await writer.close();
    await rm(sparseFile, { force: true });
  }
  try {
    await addon.markSparse('Z:\\definitely\\not\\here.bin');
  } catch (error) {
    outcome.sparseMissingError = error instanceof NativeError ? error.toJSON() : String(error);
  }
} catch (error) {
  outcome.failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
writeFileSync(process.argv[2] ?? 'wine-smoke.json', JSON.stringify(outcome));
