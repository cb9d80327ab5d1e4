/**
 * Replica apply against the disk's sequential write speed (DESIGN §6: "replica apply: at least 80% of the
 * disk's sequential write speed"). The replica storage (src/storage/vhdx-replica-storage.ts) applies logs
 * that were received and stored in its incoming/ folder; this bench times exactly that step,
 * `applyPending()`, in this process, for two logs made by the real encoder:
 *
 *   full   a full copy of the whole disk (1 MiB records of incompressible data) onto a new replica, as an
 *          initial copy that was not staged while it arrived (an imported one, or one resumed after a restart)
 *          is applied;
 *   delta  after that, a cycle of scattered 4–256 KiB writes over `--change-percent` of the disk, applied
 *          into the base (as the cycles before the first recovery point is sealed are), then, once a point
 *          is sealed, the same writes again as the next cycle, into that point's new differencing layer (as
 *          the cycles after a seal are: every new block is appended to the layer's file, none written in
 *          place).
 *
 * The peer is `dd if=/dev/zero bs=4M conv=fsync` writing the disk's size to a new file on the same volume,
 * in the same round: the disk's sequential write speed, durable as the apply is (it flushes). Both applies
 * are held to that rate (a dd of the delta's few MiB would measure dd's start and one fsync, not the
 * disk). For the delta the table also shows two peers: the same writes made at their places into dd's file
 * and flushed (what this disk gives for writes in place, the floor of an apply into the base), and the same
 * bytes appended back to back to a new file and flushed (the floor of an apply into a new layer, whose
 * writes all go to new space at the end of its file). Rounds interleave dd and the applies; each round
 * applies into a new replica. Rates are data bytes per second.
 * At the end the replica must read exactly what the logs wrote (SHA-256 against the hash of what they write,
 * computed as the full copy is made).
 *
 * The logs carry the record checksums an agent on this host would send a replica server on this host
 * (XXH3-128; record-hash.ts); --record-hash picks one (BLAKE3 or SHA-256: what older peers send).
 *
 * Run: node dist/bench/replication/apply.js [--disk-mib=4096] [--change-percent=1] [--rounds=3] [--seed=1]
 *        [--record-hash=xxh128|blake3|sha256] [--work-dir=os.tmpdir()] [--keep]
 * Prints a table, then one JSON line (the last line of stdout).
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { configureLogging } from '../../src/logging/logger.js';
import { encodeLog, type LogRecordInput } from '../../src/protocol/log-encoder.js';
import { agreedRecordHash, isRecordHashAlgorithm, RECORD_HASH_ALGORITHMS, recordHashesWorthUsingHere, type RecordHashAlgorithm } from '../../src/protocol/record-hash.js';
import { createVhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { benchOptions, inBenchFolder, loadNow, lpad, median, MiB, mib, pad, printReport, sh, type CommonOptions } from './kit.js';

configureLogging({ quietConsole: true });

const VM_ID = '5e1b0a7c-3d2f-4a61-9b80-c1d2e3f4a5b6';
const DISK_ID = '5e1b0a7c-3d2f-4a61-9b80-000000000001';
const RECORD_BYTES = MiB;

interface Options extends CommonOptions {
  changePercent: number;
  rounds: number;
  recordHash: RecordHashAlgorithm;
}

// What an agent on this host sends a replica server on this host (both list what is worth using here).
const AGREED_HERE = agreedRecordHash(recordHashesWorthUsingHere(), recordHashesWorthUsingHere());

function options(): Options {
  const { common, values } = benchOptions({
    'change-percent': { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    'record-hash': { type: 'string', default: AGREED_HERE },
  });
  const recordHash = values['record-hash'];
  if (typeof recordHash !== 'string' || !isRecordHashAlgorithm(recordHash)) throw new Error(`--record-hash must be one of ${RECORD_HASH_ALGORITHMS.join(', ')}, got ${String(recordHash)}`);
  const o: Options = { ...common, changePercent: Number(values['change-percent']), rounds: Number(values.rounds), recordHash };
  if (!(o.changePercent > 0 && o.changePercent <= 50)) throw new Error(`--change-percent must be in (0, 50], got ${String(values['change-percent'])}`);
  if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new Error(`--rounds must be a positive whole number, got ${String(values.rounds)}`);
  return o;
}

/** A seeded xorshift stream: incompressible bytes, and the choices of the delta's writes. */
class Seeded {
  private x: number;
  constructor(seed: number) {
    this.x = (seed * 2654435761) >>> 0 || 1;
  }
  next(): number {
    this.x ^= this.x << 13;
    this.x ^= this.x >>> 17;
    this.x ^= this.x << 5;
    return this.x >>> 0;
  }
  fill(buffer: Buffer): Buffer {
    for (let at = 0; at + 4 <= buffer.length; at += 4) buffer.writeUInt32LE(this.next(), at);
    return buffer;
  }
}

/**
 * The whole disk in 1 MiB records. `expected` is fed what the disk reads once `delta` (sorted, non-overlapping)
 * is applied over them, piece by piece: no model of the disk is held (a 4 GiB one in this process took memory
 * the apply's page-cache writes then had to reclaim, and slowed it 2×; bench/replication/README.md).
 */
function* fullCopy(diskBytes: number, seed: number, delta: LogRecordInput[], expected: Hash): Generator<LogRecordInput> {
  const random = new Seeded(seed);
  let next = 0;
  for (let offset = 0; offset < diskBytes; offset += RECORD_BYTES) {
    const data = random.fill(Buffer.allocUnsafe(Math.min(RECORD_BYTES, diskBytes - offset)));
    const end = offset + data.length;
    while (next < delta.length && recordEnd(delta[next]!) <= offset) next++;
    let shown = data;
    for (let i = next; i < delta.length && delta[i]!.offset < end; i++) {
      const r = delta[i]!;
      if (r.type !== 'data') continue;
      if (shown === data) shown = Buffer.from(data);
      const from = Math.max(r.offset, offset);
      r.data.copy(shown, from - offset, from - r.offset, Math.min(recordEnd(r), end) - r.offset);
    }
    expected.update(shown);
    yield { type: 'data', offset, data };
  }
}

const recordEnd = (r: LogRecordInput): number => r.offset + (r.type === 'data' ? r.data.length : r.length);

/** Scattered, sorted, non-overlapping writes of 4–256 KiB (log-uniform) covering about `bytes` in all. */
function scattered(diskBytes: number, bytes: number, seed: number): LogRecordInput[] {
  const random = new Seeded(seed + 7919);
  const count = Math.max(1, Math.round(bytes / (64 * 1024)));
  const slot = Math.floor(diskBytes / count / 4096) * 4096;
  const records: LogRecordInput[] = [];
  for (let i = 0; i < count; i++) {
    const length = Math.min(slot, 4096 * 2 ** (random.next() % 7));
    const offset = i * slot + Math.floor((random.next() % Math.max(1, (slot - length) / 4096 + 1))) * 4096;
    records.push({ type: 'data', offset, data: random.fill(Buffer.allocUnsafe(length)) });
  }
  return records;
}

/** Encodes a log of the disk into `path` with the real encoder. */
async function writeLog(path: string, diskBytes: number, recordHash: RecordHashAlgorithm, cycle: { sequence: number; base: string; next: string }, records: Iterable<LogRecordInput>): Promise<void> {
  const header = {
    vmId: VM_ID,
    diskId: DISK_ID,
    generation: 1,
    sequence: cycle.sequence,
    baseReferencePoint: cycle.base,
    newReferencePoint: cycle.next,
    virtualSize: diskBytes,
    logicalSectorSize: 512 as const,
    consistency: 'crash' as const,
  };
  await pipeline(Readable.from(encodeLog(header, records, { recordHash })), createWriteStream(path));
}

const dataBytes = (records: LogRecordInput[]): number => records.reduce((sum, r) => sum + (r.type === 'data' ? r.data.length : 0), 0);

interface Round {
  ddSec: number;
  applyFullSec: number;
  applyDeltaSec: number;
  plainDeltaSec: number;
  applyDeltaLayerSec: number;
  appendDeltaSec: number;
  applyFullCpuSec: number;
  applyDeltaCpuSec: number;
  applyDeltaLayerCpuSec: number;
}

async function main(): Promise<void> {
  const o = options();
  const load = { start: loadNow(), end: [] as number[] };
  const diskBytes = o.diskMiB * MiB;
  const root = await mkdtemp(join(o.workDir, 'hvr-bench-apply-'));
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  await inBenchFolder(root, o.keep, say, async () => {
    const logs = join(root, 'logs');
    await mkdir(logs);
    say(`encoding a full copy of ${mib(diskBytes)} and a delta of ${o.changePercent}%`);
    const delta = scattered(diskBytes, (diskBytes * o.changePercent) / 100, o.seed);
    const expected = createHash('sha256');
    await writeLog(join(logs, 'full.hvrlog'), diskBytes, o.recordHash, { sequence: 0, base: '', next: 'rp-0' }, fullCopy(diskBytes, o.seed, delta, expected));
    const modelSha256 = expected.digest('hex');
    const deltaBytes = dataBytes(delta);
    await writeLog(join(logs, 'delta.hvrlog'), diskBytes, o.recordHash, { sequence: 1, base: 'rp-0', next: 'rp-1' }, delta);
    // The same writes as the next cycle, applied after a seal into the new point's layer (the disk reads the same).
    await writeLog(join(logs, 'delta-layer.hvrlog'), diskBytes, o.recordHash, { sequence: 2, base: 'rp-1', next: 'rp-2' }, delta);
    await sh('sync -f "$1"', root);

    const rounds: Round[] = [];
    let replicaSha256 = '';
    for (let r = 0; r < o.rounds; r++) {
      const dir = join(root, `round-${r}`);
      await mkdir(dir);
      const plain = join(dir, 'dd.bin');
      const dd = async (): Promise<number> => (await sh('dd if=/dev/zero of="$1" bs=4M count="$2" conv=fsync status=none', plain, String(Math.ceil(diskBytes / (4 * MiB))))).sec;
      // The delta's writes, at their places, into dd's file and flushed: what the disk gives for this pattern.
      const plainDelta = async (): Promise<number> => {
        const start = performance.now();
        const file = await open(plain, 'r+');
        try {
          for (const r of delta) if (r.type === 'data') await file.write(r.data, 0, r.data.length, r.offset);
          await file.datasync();
        } finally {
          await file.close();
        }
        return (performance.now() - start) / 1000;
      };
      // The delta's bytes back to back into a new file and flushed: the disk's rate for new space, this many bytes.
      const appendDelta = async (): Promise<number> => {
        const path = join(dir, 'append.bin');
        const start = performance.now();
        const file = await open(path, 'w');
        try {
          let at = 0;
          for (const r of delta) if (r.type === 'data') at += (await file.write(r.data, 0, r.data.length, at)).bytesWritten;
          await file.datasync();
        } finally {
          await file.close();
        }
        const sec = (performance.now() - start) / 1000;
        await rm(path);
        return sec;
      };
      const storage = await createVhdxReplicaStorage(join(dir, 'replica'), { vmId: VM_ID, disks: [{ diskId: DISK_ID, virtualSize: diskBytes, logicalSectorSize: 512 }] });
      // Stored as the replica server stores a received log (a second name for the file, verified), not timed.
      const store = async (name: string) => {
        const copy = join(dir, name);
        await link(join(logs, name), copy);
        await storage.receiveFile(copy);
        await rm(copy);
      };
      // Wall time, and the CPU time of this process meanwhile (main thread and libuv's pool: the record checksums
      // verified, the decompression, the writes), which the disk's speed does not move.
      const apply = async (): Promise<{ sec: number; cpuSec: number }> => {
        const start = performance.now();
        const cpu = process.cpuUsage();
        const result = await storage.applyPending();
        if (result.applied.length !== 1) throw new Error(`expected one cycle applied, got ${result.applied.length}`);
        const used = process.cpuUsage(cpu);
        return { sec: (performance.now() - start) / 1000, cpuSec: (used.user + used.system) / 1e6 };
      };
      say(`round ${r + 1}/${o.rounds}: full copy`);
      await store('full.hvrlog');
      await sh('sync -f "$1"', root);
      const ddSec = await dd();
      const plainDeltaSec = await plainDelta();
      // dd's file goes before the applies: left in the page cache, its 4 GiB were memory the apply's writes had
      // to reclaim, which slowed the apply 2× (bench/replication/README.md). dd had no such file beside it.
      await rm(plain);
      await sh('sync -f "$1"', root);
      const { sec: applyFullSec, cpuSec: applyFullCpuSec } = await apply();
      say(`round ${r + 1}/${o.rounds}: delta`);
      await store('delta.hvrlog');
      await sh('sync -f "$1"', root);
      const { sec: applyDeltaSec, cpuSec: applyDeltaCpuSec } = await apply();
      say(`round ${r + 1}/${o.rounds}: the delta again, into a new point's layer`);
      if ((await storage.seal()) === undefined) throw new Error('no recovery point was sealed');
      await store('delta-layer.hvrlog');
      await sh('sync -f "$1"', root);
      const appendDeltaSec = await appendDelta();
      await sh('sync -f "$1"', root);
      const { sec: applyDeltaLayerSec, cpuSec: applyDeltaLayerCpuSec } = await apply();
      rounds.push({ ddSec, applyFullSec, applyDeltaSec, plainDeltaSec, applyDeltaLayerSec, appendDeltaSec, applyFullCpuSec, applyDeltaCpuSec, applyDeltaLayerCpuSec });
      if (r === o.rounds - 1) {
        const disk = await storage.openLatest(DISK_ID);
        const hash = createHash('sha256');
        try {
          for (let at = 0; at < diskBytes; at += 64 * MiB) hash.update(await disk.read(at, Math.min(64 * MiB, diskBytes - at)));
        } finally {
          await disk.close();
        }
        replicaSha256 = hash.digest('hex');
      }
      await rm(dir, { recursive: true, force: true });
    }
    load.end = loadNow();

    const equal = modelSha256 === replicaSha256;
    const med = (pick: (r: Round) => number): number => median(rounds.map(pick));
    const rate = (bytes: number, sec: number): number => bytes / MiB / sec;
    const sequentialMiBs = rate(diskBytes, med((r) => r.ddSec));
    const full = { applyMiBs: rate(diskBytes, med((r) => r.applyFullSec)) };
    const scatteredRates = {
      applyMiBs: rate(deltaBytes, med((r) => r.applyDeltaSec)),
      plainMiBs: rate(deltaBytes, med((r) => r.plainDeltaSec)),
      applyLayerMiBs: rate(deltaBytes, med((r) => r.applyDeltaLayerSec)),
      appendMiBs: rate(deltaBytes, med((r) => r.appendDeltaSec)),
    };
    const targets = [
      { target: 'full copy: apply rate / sequential write rate', value: full.applyMiBs / sequentialMiBs, limit: '>= 0.8', met: full.applyMiBs / sequentialMiBs >= 0.8 },
      { target: 'delta into the base: apply / sequential write rate', value: scatteredRates.applyMiBs / sequentialMiBs, limit: '>= 0.8', met: scatteredRates.applyMiBs / sequentialMiBs >= 0.8 },
      { target: 'delta into a new layer: apply / sequential write rate', value: scatteredRates.applyLayerMiBs / sequentialMiBs, limit: '>= 0.8', met: scatteredRates.applyLayerMiBs / sequentialMiBs >= 0.8 },
    ];
    const lines = [
      `hvreplica apply benchmark: 1 × ${mib(diskBytes)} disk, a full copy and a delta of ${mib(deltaBytes)} (${delta.length} writes of 4–256 KiB), ${o.recordHash} record checksums, ${o.rounds} round(s), seed ${o.seed}`,
      `node ${process.version}, ${cpus().length} cores, load average ${load.start.join(' ')} at start, ${load.end.join(' ')} at end`,
      '',
      `  ${pad('', 40)} ${lpad('median', 9)}  ${lpad('rate', 12)}  rounds`,
      `  ${pad('dd conv=fsync of the disk size', 40)} ${lpad(med((r) => r.ddSec).toFixed(3), 7)} s  ${lpad(sequentialMiBs.toFixed(0), 7)} MiB/s  ${rounds.map((r) => r.ddSec.toFixed(3)).join(', ')}`,
      `  ${pad('apply of the full copy', 40)} ${lpad(med((r) => r.applyFullSec).toFixed(3), 7)} s  ${lpad(full.applyMiBs.toFixed(0), 7)} MiB/s  ${rounds.map((r) => r.applyFullSec.toFixed(3)).join(', ')}`,
      `  ${pad('apply of the delta into the base', 40)} ${lpad(med((r) => r.applyDeltaSec).toFixed(3), 7)} s  ${lpad(scatteredRates.applyMiBs.toFixed(0), 7)} MiB/s  ${rounds.map((r) => r.applyDeltaSec.toFixed(3)).join(', ')}`,
      `  ${pad("the delta's writes into dd's file", 40)} ${lpad(med((r) => r.plainDeltaSec).toFixed(3), 7)} s  ${lpad(scatteredRates.plainMiBs.toFixed(0), 7)} MiB/s  ${rounds.map((r) => r.plainDeltaSec.toFixed(3)).join(', ')}`,
      `  ${pad("apply of the delta into a new layer", 40)} ${lpad(med((r) => r.applyDeltaLayerSec).toFixed(3), 7)} s  ${lpad(scatteredRates.applyLayerMiBs.toFixed(0), 7)} MiB/s  ${rounds.map((r) => r.applyDeltaLayerSec.toFixed(3)).join(', ')}`,
      `  ${pad("the delta's bytes appended to a new file", 40)} ${lpad(med((r) => r.appendDeltaSec).toFixed(3), 7)} s  ${lpad(scatteredRates.appendMiBs.toFixed(0), 7)} MiB/s  ${rounds.map((r) => r.appendDeltaSec.toFixed(3)).join(', ')}`,
      '',
      'Targets (DESIGN §6)                                       ratio      limit     met',
      ...targets.map((t) => `  ${pad(t.target, 54)} ${lpad(t.value.toFixed(2), 8)}   ${pad(t.limit, 8)}  ${t.met ? 'yes' : 'NO'}`),
      '',
      `CPU seconds of the applies (user + system, this process), median: full copy ${med((r) => r.applyFullCpuSec).toFixed(2)}, delta ${med((r) => r.applyDeltaCpuSec).toFixed(3)}, delta into a new layer ${med((r) => r.applyDeltaLayerCpuSec).toFixed(3)}`,
      `Replica equals what the logs wrote (SHA-256 of the disk, last round): ${equal ? 'yes' : 'NO'}`,
    ];
    process.stdout.write(`${lines.map((line) => line.trimEnd()).join('\n')}\n`);
    const report = {
      bench: 'apply',
      node: process.version,
      cores: cpus().length,
      loadAverage: load,
      options: { diskMiB: o.diskMiB, changePercent: o.changePercent, rounds: o.rounds, seed: o.seed, recordHash: o.recordHash },
      deltaBytes,
      deltaWrites: delta.length,
      rounds,
      sequentialMiBs,
      full,
      delta: scatteredRates,
      targets,
      verified: { replicaEqualsModel: equal, modelSha256, replicaSha256 },
    };
    printReport(report, equal);
  });
}

await main();
