// Crash safety: a child process writing through the engine (a dynamic disk, then a differencing layer)
// is killed with SIGKILL at random moments, 50 times, and 6 merges are killed midway. Every time the file
// must open read-only (log replayed in memory) and writable (replayed in place) to the same content, pass
// `qemu-img check` (dynamic), hold every write flushed before the kill, and show for every other slot only
// sectors of the old content or of a write that was in flight. An interrupted merge must leave the chain
// readable and finish when run again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createDisk, mergeDisk, openDisk } from '../../src/vhdx/index.js';
import { SLOT } from './crash-writer.js';
import { MiB, prng, randomInt, requireTool, runStatus, scratch } from './helpers.js';

const SIZE = 12 * MiB;
const SLOTS = SIZE / SLOT;
const here = fileURLToPath(new URL('.', import.meta.url));
const writer = join(here, 'crash-writer.js');
const merger = join(here, 'crash-merger.js');

interface Op {
  index: number;
  slot: number;
  content: Buffer;
}

/** What a slot holds, for failure messages: zeros, one whole write (by its index), or a mix. */
function describeSlot(bytes: Buffer): string {
  if (bytes.every((b) => b === 0)) return 'zeros';
  const index = bytes.readUInt32LE(0);
  return bytes.equals(opContent('w', index, bytes[4]!)) ? `write #${index}` : 'mixed sectors';
}

function opContent(kind: string, index: number, byte: number): Buffer {
  if (kind === 'z') return Buffer.alloc(SLOT);
  const data = Buffer.alloc(SLOT, byte);
  data.writeUInt32LE(index, 0);
  return data;
}

// A child that could not even link its modules (dist/ being rewritten by a concurrent `tsc` in a shared
// tree) never touched the disk; it is started again. Any other early exit fails the test.
const LINK_RACE = /does not provide an export named|Cannot find module|ERR_MODULE_NOT_FOUND|Unexpected end of input/;

/** How the writer puts its bytes into the disk: write() from memory, or a 'copy' change from a file. */
type WriteWay = 'write' | 'copy' | 'unbuffered';

async function runAndKill(path: string, start: number, seed: number, delayMs: number, way: WriteWay): Promise<{ ops: Op[]; flushed: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runAndKillOnce(path, start, seed, delayMs, way);
    } catch (error) {
      const message = (error as Error).message;
      if (attempt >= 3 || !message.includes('before it was ready') || !LINK_RACE.test(message)) throw error;
    }
  }
}

/**
 * Reads the writer's journal. Only whole lines count: a line the kill cut short was still being written,
 * so the operation it announces had not started.
 */
function readJournal(journalPath: string, start: number): { ops: Op[]; flushed: number } {
  const ops: Op[] = [];
  let flushed = start - 1;
  const text = readFileSync(journalPath, 'utf8');
  for (const line of text.slice(0, text.lastIndexOf('\n') + 1).split('\n')) {
    const [kind, a, b, c] = line.split(' ');
    if (kind === 'w' || kind === 'z') ops.push({ index: Number(a), slot: Number(b), content: opContent(kind, Number(a), Number(c)) });
    if (kind === 'f') flushed = Number(a);
  }
  return { ops, flushed };
}

/** Runs the writer until `delayMs` after it is ready, kills it, and returns what it announced. */
function runAndKillOnce(path: string, start: number, seed: number, delayMs: number, way: WriteWay): Promise<{ ops: Op[]; flushed: number }> {
  return new Promise((resolve, reject) => {
    const journalPath = `${path}.journal`;
    const child = spawn(process.execPath, [writer, path, journalPath, String(start), String(seed), String(SLOTS), way], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!timer && out.includes('ready\n')) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') {
        const when = out.includes('ready\n') ? 'while writing' : 'before it was ready';
        reject(new Error(`the writer ended by itself ${when} (${String(signal)}): ${err}`));
        return;
      }
      try {
        resolve(readJournal(journalPath, start));
      } catch (error) {
        reject(error);
      }
    });
  });
}

async function readAll(path: string, writable: boolean): Promise<Buffer> {
  const disk = await openDisk(path, { writable });
  try {
    return await disk.read(0, SIZE);
  } finally {
    await disk.close();
  }
}

async function crashLoop(path: string, model: Buffer, rounds: number, seed: number, qemuCheck: boolean, way: WriteWay): Promise<number> {
  const next = prng(seed);
  let start = 0;
  let durableOps = 0;
  for (let round = 0; round < rounds; round++) {
    const { ops, flushed } = await runAndKill(path, start, seed * 1000 + round, 5 + randomInt(next, 250), way);
    // Read-only first (replay in memory, file untouched), then writable (replay in place): same bytes.
    const inMemory = await readAll(path, false);
    const actual = await readAll(path, true);
    assert.ok(inMemory.equals(actual), `round ${round}: in-memory and in-place replay disagree`);
    if (qemuCheck) {
      const check = runStatus('qemu-img', ['check', '-f', 'vhdx', path]);
      assert.equal(check.status, 0, `round ${round}: qemu-img check: ${check.out}`);
    }
    // Flushed ops are part of the model; later ones may or may not have landed, sector by sector.
    const pending = new Map<number, Buffer[]>();
    for (const op of ops) {
      if (op.index <= flushed) {
        op.content.copy(model, op.slot * SLOT);
        pending.delete(op.slot);
        durableOps++;
      } else {
        pending.set(op.slot, [...(pending.get(op.slot) ?? []), op.content]);
      }
    }
    for (let slot = 0; slot < SLOTS; slot++) {
      const at = slot * SLOT;
      const got = actual.subarray(at, at + SLOT);
      const candidates = pending.get(slot);
      if (!candidates) {
        const want = model.subarray(at, at + SLOT);
        assert.ok(got.equals(want), `round ${round}: slot ${slot} lost a flushed write or changed: holds ${describeSlot(got)}, expected ${describeSlot(want)} (last announced op #${ops.at(-1)?.index ?? start - 1}, flushed through #${flushed})`);
        continue;
      }
      for (let s = 0; s < SLOT; s += 512) {
        const sector = got.subarray(s, s + 512);
        const ok = [model.subarray(at, at + SLOT), ...candidates].some((c) => c.subarray(s, s + 512).equals(sector));
        assert.ok(ok, `round ${round}: slot ${slot} sector ${s / 512} holds bytes no write put there`);
      }
      got.copy(model, at);
    }
    start = (ops.at(-1)?.index ?? start) + 1;
  }
  return durableOps;
}

describe('crash safety under SIGKILL', () => {
  const dir = scratch('crash');
  after(() => dir.cleanup());

  async function dynamicSurvives(name: string, rounds: number, seed: number, way: WriteWay): Promise<void> {
    requireTool('qemu-img');
    const path = join(dir.path, `${name}.vhdx`);
    await createDisk(path, { type: 'dynamic', virtualSize: SIZE, blockSize: MiB });
    const durable = await crashLoop(path, Buffer.alloc(SIZE), rounds, seed, true, way);
    assert.ok(durable > 0, 'the writer never got a flush done before being killed');
  }

  async function differencingSurvives(name: string, rounds: number, seed: number, way: WriteWay): Promise<void> {
    const base = join(dir.path, `${name}-base.vhdx`);
    await createDisk(base, { type: 'dynamic', virtualSize: SIZE, blockSize: MiB });
    const b = await openDisk(base, { writable: true });
    const model = Buffer.alloc(SIZE);
    for (let off = 0; off < SIZE; off += 3 * MiB) {
      const data = Buffer.alloc(MiB, 0x3c);
      await b.write(off, data);
      data.copy(model, off);
    }
    await b.close();
    const child = join(dir.path, `${name}-child.avhdx`);
    await createDisk(child, { type: 'differencing', parentPath: base, blockSize: MiB });
    const durable = await crashLoop(child, model, rounds, seed, false, way);
    assert.ok(durable > 0, 'the writer never got a flush done before being killed');
    const check = runStatus('qemu-img', ['check', '-f', 'vhdx', base]);
    assert.equal(check.status, 0, `the parent must stay untouched and clean: ${check.out}`);
  }

  it('a dynamic disk survives 30 kills with every flushed write intact and qemu-img check clean', () => dynamicSurvives('dyn', 30, 7, 'write'));

  it('a differencing layer survives 20 kills with its sector bitmaps consistent', () => differencingSurvives('diff', 20, 9, 'write'));

  // The write-from-file path (a 'copy' change) allocates and commits as write() does: the same guarantees.
  it('a dynamic disk written by copies from a file survives 15 kills with every flushed write intact and qemu-img check clean', () => dynamicSurvives('dyn-copy', 15, 11, 'copy'));

  // Writes past the page cache (unbufferedWrites, as the replica's staging disk has them), still in flight in the
  // engine's writer threads when the kill comes: every flushed write intact all the same. The test directory
  // must be on a file system that takes unbuffered writes (not tmpfs); the writer fails otherwise.
  it('a dynamic disk written past the page cache survives 15 kills with every flushed write intact and qemu-img check clean', () => dynamicSurvives('dyn-unbuffered', 15, 13, 'unbuffered'));

  it('a differencing layer written past the page cache survives 10 kills with its sector bitmaps consistent', () => differencingSurvives('diff-unbuffered', 10, 15, 'unbuffered'));

  it('a differencing layer written by copies from a file survives 10 kills with its sector bitmaps consistent', () => differencingSurvives('diff-copy', 10, 13, 'copy'));

  it('a merge killed at random moments leaves a readable chain and finishes when run again', async () => {
    const next = prng(31);
    let interrupted = 0;
    for (let round = 0; round < 6; round++) {
      const base = join(dir.path, `mbase-${round}.vhdx`);
      const child = join(dir.path, `mchild-${round}.avhdx`);
      await createDisk(base, { type: 'dynamic', virtualSize: SIZE, blockSize: MiB });
      const b = await openDisk(base, { writable: true });
      const expected = Buffer.alloc(SIZE);
      for (let off = 0; off < SIZE; off += 2 * MiB) {
        const d = Buffer.alloc(MiB, 0x21);
        await b.write(off, d);
        d.copy(expected, off);
      }
      await b.close();
      await createDisk(child, { type: 'differencing', parentPath: base, blockSize: MiB });
      const c = await openDisk(child, { writable: true });
      for (let k = 0; k < 60; k++) {
        const off = randomInt(next, SIZE / 512 - 4096) * 512;
        const d = Buffer.alloc(512 * (1 + randomInt(next, 4000)), 1 + randomInt(next, 255));
        await c.write(off, d);
        d.copy(expected, off);
      }
      await c.zero(5 * MiB, MiB);
      expected.fill(0, 5 * MiB, 6 * MiB);
      await c.close();
      // Early kills land before or inside the parent's first commit, later ones anywhere up to the relink.
      const delay = round < 2 ? randomInt(next, 25) : randomInt(next, 200);
      const runMerger = (): Promise<boolean> => new Promise<boolean>((resolve, reject) => {
        const p = spawn(process.execPath, [merger, child], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        p.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('ready\n')) setTimeout(() => p.kill('SIGKILL'), delay);
        });
        p.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
        p.on('error', reject);
        p.on('close', (code, signal) =>
          code && code !== 0 ? reject(new Error(`${out.includes('ready') ? '' : 'before it was ready: '}${err}`)) : resolve(signal === 'SIGKILL' && !out.includes('done')),
        );
      });
      let killed = false;
      for (let attempt = 1; ; attempt++) {
        try {
          killed = await runMerger();
          break;
        } catch (error) {
          const message = (error as Error).message;
          if (attempt >= 3 || !message.startsWith('before it was ready') || !LINK_RACE.test(message)) throw error;
        }
      }
      if (killed) interrupted++;
      // At every instant the child still shows its content (through parent_linkage or parent_linkage2).
      assert.ok((await readAll(child, false)).equals(expected), `round ${round} (killed: ${killed}): chain content changed`);
      await mergeDisk(child);
      assert.ok((await readAll(base, false)).equals(expected), `round ${round}: the resumed merge is incomplete`);
      assert.ok((await readAll(child, false)).equals(expected));
      const check = runStatus('qemu-img', ['check', '-f', 'vhdx', base]);
      assert.equal(check.status, 0, `round ${round}: qemu-img check of the merged parent: ${check.out}`);
    }
    assert.ok(interrupted >= 1, 'no merge was interrupted: the kills came too late to test anything');
  });
});
