// Writes seed inputs for the VHDX fuzzer: the compact pieces (see native/src/vhdx/fuzz_layout.h) of
// disks made by qemu-img in several shapes. Usage: node make-seeds.mjs OUT_DIR
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PIECES = [[0, 16], [64 << 10, 4096], [128 << 10, 4096], [192 << 10, 4096], [256 << 10, 4096],
  [1 << 20, 16384], [2 << 20, 8192], [3 << 20, 8192], [4 << 20, 4096]];
const out = process.argv[2];
const tmp = mkdtempSync(join(tmpdir(), 'hvr-fuzz-seeds-'));
try {
  const shapes = [['a', 'block_size=1M', '4M'], ['b', 'block_size=32M', '64M'], ['c', 'subformat=fixed,block_state_zero=off', '2M']];
  for (const [name, opts, size] of shapes) {
    const file = join(tmp, `${name}.vhdx`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'vhdx', '-o', opts, file, size]);
    execFileSync('qemu-io', ['-f', 'vhdx', '-c', 'write -P 0x5a 0 8k', file], { stdio: 'ignore' });
    const image = readFileSync(file);
    const parts = PIECES.map(([at, len]) => {
      const piece = Buffer.alloc(len);
      image.copy(piece, 0, at, Math.min(image.length, at + len));
      return piece;
    });
    const seed = Buffer.concat(parts);
    writeFileSync(join(out, `seed-qemu-${name}`), seed);
    seed[8] |= 1; // the re-sealing variant (see fuzz_layout.h)
    writeFileSync(join(out, `seed-qemu-${name}-sealed`), seed);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
