// Inputs kept from the libFuzzer harness (native/fuzz, `npm run fuzz:vhdx`): each is expanded exactly as
// the harness expands it and must open or fail with a typed NativeError; a crash would end this process.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDisk } from '../../src/vhdx/index.js';
import { crc32c } from './crc32c.js';
import { MiB, repoRoot, scratch } from './helpers.js';

// Must match native/src/vhdx/fuzz_layout.h.
const PIECES: [number, number][] = [
  [0, 16], [64 << 10, 4096], [128 << 10, 4096], [192 << 10, 4096], [256 << 10, 4096],
  [1 << 20, 16384], [2 << 20, 8192], [3 << 20, 8192], [4 << 20, 4096],
];

function expandFuzzImage(input: Buffer): Buffer {
  const image = Buffer.alloc(5 * MiB);
  let at = 0;
  for (const [offset, length] of PIECES) {
    const n = Math.max(0, Math.min(length, input.length - at));
    input.copy(image, offset, at, at + n);
    at += n;
  }
  if (input.length > 8 && (input[8]! & 1) !== 0) {
    for (const [offset, length] of [[64 << 10, 4096], [128 << 10, 4096], [192 << 10, 65536], [256 << 10, 65536]] as const) {
      image.writeUInt32LE(0, offset + 4);
      image.writeUInt32LE(crc32c(image.subarray(offset, offset + length)), offset + 4);
    }
  }
  return image;
}

describe('fuzz regressions', () => {
  const dir = scratch('fuzz');
  after(() => dir.cleanup());
  const inputs = readdirSync(join(repoRoot, 'test', 'vhdx', 'fuzz-regressions')).sort();

  it('has inputs to replay', () => {
    assert.ok(inputs.length > 0, 'test/vhdx/fuzz-regressions is empty');
  });

  for (const name of inputs) {
    it(`${name} opens or fails with a typed error`, async () => {
      const path = join(dir.path, `${name}.vhdx`);
      writeFileSync(path, expandFuzzImage(readFileSync(join(repoRoot, 'test', 'vhdx', 'fuzz-regressions', name))));
      try {
        const disk = await openDisk(path, { parents: false });
        try {
          await disk.map({ layerOnly: true, length: Math.min(disk.info.virtualSize, 4 * 1024 * MiB) });
          await disk.read(0, Math.min(65536, disk.info.virtualSize)).catch((e: Error & { code?: string }) => {
            assert.match(e.code ?? '', /^ERR_/);
          });
        } finally {
          await disk.close();
        }
      } catch (e) {
        const error = e as Error & { code?: string };
        assert.equal(error.name, 'NativeError', `not a typed error: ${error.stack ?? String(e)}`);
        assert.match(error.code ?? '', /^ERR_VHDX_|^ERR_IO$|^ERR_INVALID_ARGUMENT$/);
      }
    });
  }
});


