/**
 * Measures the strong hashes node's crypto offers for the hash tracker's per-block digests, on one core,
 * the addon's BLAKE3 on each of its code paths (blake3-avx512, blake3-avx2, blake3-portable) and its XXH3-128
 * (xxh128, for comparisons only), so the choice in src/tracking/hash/hash-algorithm.ts rests on figures from this machine.
 * Run: node dist/bench/tracking/hash-candidates.js [blockKiB=64] [totalMiB=256]
 */
import { createHash, getHashes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { blake3, blake3Paths } from '../../src/native/blake3.js';
import { xxh128 } from '../../src/native/xxh128.js';

const CANDIDATES = ['sha256', 'sha512-256', 'blake2b512', 'blake2s256', 'sha3-256'];

function measure(digest: (block: Buffer) => void, block: Buffer, totalBytes: number): number {
  const rounds = Math.max(1, Math.floor(totalBytes / block.length));
  for (let i = 0; i < 8; i++) digest(block); // warm-up
  const start = performance.now();
  for (let i = 0; i < rounds; i++) digest(block);
  const seconds = (performance.now() - start) / 1000;
  return (rounds * block.length) / seconds / (1024 * 1024);
}

const blockKiB = Number(process.argv[2] ?? 64);
const totalMiB = Number(process.argv[3] ?? 256);
const block = Buffer.alloc(blockKiB * 1024);
for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
const available = new Set(getHashes());
const total = totalMiB * 1024 * 1024;
const rows = [
  { algorithm: 'xxh128', mibPerSecond: Math.round(measure((b) => xxh128(b), block, total)) },
  ...blake3Paths().map((path) => ({ algorithm: `blake3-${path}`, mibPerSecond: Math.round(measure((b) => blake3(b, path), block, total)) })),
  ...CANDIDATES.filter((a) => available.has(a)).map((a) => ({ algorithm: a, mibPerSecond: Math.round(measure((b) => createHash(a).update(b).digest(), block, total)) })),
];
process.stdout.write(`${JSON.stringify({ blockKiB, totalMiB, node: process.version, openssl: process.versions.openssl, rows }, null, 2)}\n`);
