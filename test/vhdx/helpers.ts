/**
 * Shared plumbing of the VHDX suites: real samples decompressed into a temporary directory, external
 * oracles (qemu-img, qemu-io, libvhdi) that fail loudly when missing, and a deterministic PRNG.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { repoRoot, sharedDir } from '../helpers/paths.js';
import type { VhdxDisk } from '../../src/vhdx/index.js';

export const realDir = join(sharedDir, 'testdata', 'vhdx-real');
export const MiB = 1024 * 1024;
/** Prints the sha256 of a chain read by libvhdi: libvhdi-sha256.py TOP [PARENT … BASE]. */
export const libvhdiScript = join(repoRoot, 'test', 'vhdx', 'tools', 'libvhdi-sha256.py');

const TOOL_PACKAGES: Record<string, string> = {
  'qemu-img': 'qemu-utils',
  'qemu-io': 'qemu-utils',
  '/usr/bin/python3': 'python3-libvhdi (and python3)',
  bzip2: 'bzip2',
};

/** Fails (never skips) with the package to install when an oracle tool is missing. */
export function requireTool(tool: string): string {
  const found = tool.startsWith('/') ? existsSync(tool) : spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
  assert.ok(found, `${tool} is missing: install the Debian package ${TOOL_PACKAGES[tool] ?? tool} to run the VHDX suite`);
  return tool;
}

export function requireLibvhdi(): void {
  requireTool('/usr/bin/python3');
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import pyvhdi'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `python3-libvhdi is missing (import pyvhdi failed: ${probe.stderr.trim()}): apt-get install python3-libvhdi`);
}

export function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a command and returns its status and output, without throwing on a non-zero exit. */
export function runStatus(cmd: string, args: string[]): { status: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

export function scratch(prefix: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `hvr-vhdx-${prefix}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Decompresses one real sample (name without .gz/.bz2) into `dir` and returns its path. */
export async function realSample(name: string, dir: string): Promise<string> {
  const out = join(dir, name);
  if (existsSync(out)) return out;
  const gz = join(realDir, `${name}.gz`);
  if (existsSync(gz)) {
    await pipeline(createReadStream(gz), createGunzip(), createWriteStream(out));
    return out;
  }
  const bz = join(realDir, `${name}.bz2`);
  assert.ok(existsSync(bz), `real sample ${name} is missing from ${realDir}`);
  execFileSync('sh', ['-c', `${requireTool('bzip2')} -dc "$1" > "$2"`, 'sh', bz, out]);
  return out;
}

/** sha256 of the whole virtual disk read through the engine, in large chunks. */
export async function diskSha256(disk: VhdxDisk): Promise<string> {
  const hash = createHash('sha256');
  const chunk = 32 * MiB;
  const buffer = Buffer.alloc(chunk);
  for (let offset = 0; offset < disk.info.virtualSize; offset += chunk) {
    const n = Math.min(chunk, disk.info.virtualSize - offset);
    hash.update(await disk.read(offset, n === chunk ? buffer : Buffer.alloc(n)));
  }
  return hash.digest('hex');
}

/** Deterministic PRNG (mulberry32) so failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(next: () => number, below: number): number {
  return Math.floor(next() * below);
}

export { repoRoot };
