/**
 * Memory on a large disk (DESIGN §6: "memory bounded by a configurable window, not by disk or log size (a
 * 1 TiB disk replicates in under 256 MiB)"). A file-host VM with one 1 TiB dynamic VHDX, written in pieces
 * spread over the whole disk (so the block table, the allocation map and the change lists span 1 TiB while
 * the data fits this machine), replicated by `hvreplica replicate` to `hvreplica server run` over loopback
 * TLS: the initial copy, then one delta cycle after more pieces were written. The peak RSS of the agent
 * and of the replica server is taken for each phase (the server's is reset before each, as in
 * replication.ts). At the end every written piece, and a sample of the never-written space between them,
 * must read the same on the replica as on the primary at the last reference point.
 *
 * Run: node dist/bench/replication/memory.js [--disk-mib=1048576] [--pieces=64] [--piece-mib=16]
 *        [--delta-pieces=32] [--delta-piece-mib=4] [--seed=1] [--work-dir=os.tmpdir()] [--keep]
 * Prints a table, then one JSON line (the last line of stdout).
 */
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { FileHost } from '../../src/host/file/file-host.js';
import { configureLogging } from '../../src/logging/logger.js';
import { openVhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { benchOptions, hvreplica, inBenchFolder, kib, loadNow, printReport, lpad, MEMORY_LIMIT_KIB, MiB, mib, pad, pairedVm, replicaFolder, sh, VM, warnings, type CommonOptions, type PairedVm } from './kit.js';
import { peakMethod, resetPeak, vmHwmKiB } from './measure.js';

configureLogging({ quietConsole: true });

interface Options extends CommonOptions {
  pieces: number;
  pieceMiB: number;
  deltaPieces: number;
  deltaPieceMiB: number;
}

function options(): Options {
  const { common, values } = benchOptions({
    pieces: { type: 'string', default: '64' },
    'piece-mib': { type: 'string', default: '16' },
    'delta-pieces': { type: 'string', default: '32' },
    'delta-piece-mib': { type: 'string', default: '4' },
  });
  const whole = (name: string, value: unknown): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number, got ${String(value)}`);
    return n;
  };
  const o: Options = {
    ...common,
    // A default of its own: the target names a 1 TiB disk.
    diskMiB: process.argv.some((a) => a.startsWith('--disk-mib')) ? common.diskMiB : 1024 * 1024,
    pieces: whole('pieces', values.pieces),
    pieceMiB: whole('piece-mib', values['piece-mib']),
    deltaPieces: whole('delta-pieces', values['delta-pieces']),
    deltaPieceMiB: whole('delta-piece-mib', values['delta-piece-mib']),
  };
  // Each piece must fit in its stretch of the disk, a delta piece in the gap after an initial one.
  const stretch = o.diskMiB / Math.max(o.pieces, o.deltaPieces);
  if (o.pieceMiB + o.deltaPieceMiB > stretch / 2) throw new Error(`--disk-mib=${o.diskMiB} is too small for ${o.pieces} pieces of ${o.pieceMiB} MiB and ${o.deltaPieces} of ${o.deltaPieceMiB} MiB`);
  return o;
}

/** A written range of the disk. */
interface Piece {
  offset: number;
  length: number;
}

/** `count` pieces of `pieceMiB`, one at the start of each equal stretch of the disk, moved by `shift` MiB. */
function spread(diskBytes: number, count: number, pieceMiB: number, shiftMiB: number): Piece[] {
  const stretch = Math.floor(diskBytes / count / MiB) * MiB;
  return Array.from({ length: count }, (_, i) => ({ offset: i * stretch + shiftMiB * MiB, length: pieceMiB * MiB }));
}

/** Seeded, incompressible bytes, different in every 4 KiB, written through the file host as a guest would. */
async function writePieces(host: FileHost, pieces: Piece[], seed: number): Promise<void> {
  await host.withWritableDisks(VM, async (disks) => {
    const disk = disks[0]!.disk;
    for (const [i, piece] of pieces.entries()) {
      const data = Buffer.alloc(piece.length);
      let x = ((seed + i) * 2654435761) >>> 0 || 1;
      for (let at = 0; at + 4 <= data.length; at += 4) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        data.writeUInt32LE((x | 1) >>> 0, at);
      }
      await disk.write(piece.offset, data);
    }
  });
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * Whether the replica's latest state reads like the primary at `point` over every piece and over a sample
 * of never-written space (the middle of each gap between pieces), and whether it is at that point.
 */
async function sameOverPieces(paired: PairedVm, point: string, pieces: Piece[]): Promise<{ equal: boolean; ranges: number; differing: number }> {
  const replica = await openVhdxReplicaStorage(replicaFolder(paired));
  const status = await replica.status();
  const diskId = paired.vm.disks[0]!.id;
  const primaryDisk = await paired.host.openDiskAt(paired.vm.id, point, diskId);
  const replicaDisk = await replica.openLatest(status.disks[0]!.diskId);
  const sorted = [...pieces].sort((a, b) => a.offset - b.offset);
  const gaps = sorted.slice(1).map((p, i) => ({ offset: Math.floor((sorted[i]!.offset + sorted[i]!.length + p.offset) / 2 / MiB) * MiB, length: MiB }));
  let differing = 0;
  try {
    for (const range of [...sorted, ...gaps]) {
      for (let at = range.offset; at < range.offset + range.length; at += 4 * MiB) {
        const length = Math.min(4 * MiB, range.offset + range.length - at);
        if (sha256(await primaryDisk.read(at, length)) !== sha256(await replicaDisk.read(at, length))) differing += 1;
      }
    }
  } finally {
    await primaryDisk.close();
    await replicaDisk.close();
  }
  return { equal: status.referencePoint === point && differing === 0, ranges: sorted.length + gaps.length, differing };
}

interface CycleJson {
  Kind: 'initial' | 'delta';
  ReferencePoint: string;
  LogBytes: number;
  ChangedBytes: number;
  LatencySec: number;
}

interface Phase {
  kind: 'initial' | 'delta';
  processSec: number;
  cycleSec: number;
  logBytes: number;
  agentPeakKiB: number;
  serverPeakKiB: number;
  warnings: string[];
}

async function main(): Promise<void> {
  const o = options();
  const load = { start: loadNow(), end: [] as number[] };
  const root = await mkdtemp(join(o.workDir, 'hvr-bench-memory-'));
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  await inBenchFolder(root, o.keep, say, async (run) => {
    say(`a VM with one ${mib(o.diskMiB * MiB)} disk`);
    const paired = await pairedVm({ root, disks: 1, diskMiB: o.diskMiB, frequencySec: 30, say });
    const server = (run.server = paired.server);
    const serverPid = server.child.pid!;
    const diskBytes = paired.vm.disks[0]!.virtualSize;
    const initialPieces = spread(diskBytes, o.pieces, o.pieceMiB, 0);
    // Each delta piece lands in a gap, past the initial piece of its stretch: new blocks to allocate and send.
    const deltaPieces = spread(diskBytes, o.deltaPieces, o.deltaPieceMiB, o.pieceMiB + 1);

    const phase = async (kind: Phase['kind']): Promise<{ phase: Phase; point: string }> => {
      await sh('sync -f "$1"', root);
      resetPeak(serverPid);
      const { run, result } = await hvreplica(['replicate', `--vm=${VM}`, `--state-dir=${paired.primaryState}`]);
      const cycle = result as CycleJson;
      if (cycle.Kind !== kind) throw new Error(`the ${kind} phase ran a ${cycle.Kind} cycle`);
      return {
        phase: { kind, processSec: run.sec, cycleSec: cycle.LatencySec, logBytes: cycle.LogBytes, agentPeakKiB: run.peakKiB, serverPeakKiB: vmHwmKiB(serverPid), warnings: warnings(run) },
        point: cycle.ReferencePoint,
      };
    };

    say(`writing ${o.pieces} pieces of ${o.pieceMiB} MiB spread over the disk`);
    await writePieces(paired.host, initialPieces, o.seed);
    say('initial replication');
    const initial = await phase('initial');
    say(`writing ${o.deltaPieces} pieces of ${o.deltaPieceMiB} MiB between them`);
    await writePieces(paired.host, deltaPieces, o.seed + o.pieces);
    say('delta cycle');
    const delta = await phase('delta');

    say('verifying');
    const stopCode = await server.stop();
    if (stopCode !== 0) throw new Error(`the replica server stopped with exit code ${stopCode}:\n${server.stderr}`);
    const serverWarnings = warnings(server);
    const verified = await sameOverPieces(paired, delta.point, [...initialPieces, ...deltaPieces]);
    load.end = loadNow();

    const phases = [initial.phase, delta.phase];
    const agentPeak = Math.max(...phases.map((p) => p.agentPeakKiB));
    const serverPeak = Math.max(...phases.map((p) => p.serverPeakKiB));
    const targets = [
      { target: 'memory: agent peak RSS (MiB)', value: agentPeak / 1024, limit: '< 256', met: agentPeak < MEMORY_LIMIT_KIB },
      { target: 'memory: server peak RSS (MiB)', value: serverPeak / 1024, limit: '< 256', met: serverPeak < MEMORY_LIMIT_KIB },
    ];
    const written = (pieces: Piece[]): number => pieces.reduce((sum, p) => sum + p.length, 0);
    const lines = [
      `hvreplica memory benchmark: 1 × ${mib(diskBytes)} dynamic VHDX; ${o.pieces} × ${o.pieceMiB} MiB written for the initial copy, ${o.deltaPieces} × ${o.deltaPieceMiB} MiB for the delta; seed ${o.seed}`,
      `node ${process.version}, ${cpus().length} cores, load average ${load.start.join(' ')} at start, ${load.end.join(' ')} at end; peak memory by ${peakMethod()}`,
      '',
      `  ${pad('phase', 10)} ${lpad('written', 12)} ${lpad('log', 12)} ${lpad('process', 10)} ${lpad('cycle', 10)}  peak RSS`,
      ...phases.map((p, i) => `  ${pad(p.kind, 10)} ${lpad(mib(written(i === 0 ? initialPieces : deltaPieces)), 12)} ${lpad(mib(p.logBytes), 12)} ${lpad(p.processSec.toFixed(2), 8)} s ${lpad(p.cycleSec.toFixed(2), 8)} s  agent ${kib(p.agentPeakKiB)}, server ${kib(p.serverPeakKiB)}`),
      '',
      'Targets (DESIGN §6)                                       value      limit     met',
      ...targets.map((t) => `  ${pad(t.target, 54)} ${lpad(t.value.toFixed(1), 8)}   ${pad(t.limit, 8)}  ${t.met ? 'yes' : 'NO'}`),
      '',
      `Agent warnings: ${phases.flatMap((p) => p.warnings).length === 0 ? 'none' : phases.flatMap((p) => p.warnings)[0]}; server warnings: ${serverWarnings.length === 0 ? 'none' : serverWarnings[0]}`,
      `Replica equals primary over ${verified.ranges} written and never-written ranges at the last point: ${verified.equal ? 'yes' : `NO (${verified.differing} 4 MiB reads differ)`}`,
    ];
    process.stdout.write(`${lines.map((line) => line.trimEnd()).join('\n')}\n`);
    const report = {
      bench: 'memory',
      node: process.version,
      cores: cpus().length,
      loadAverage: load,
      options: { diskMiB: o.diskMiB, pieces: o.pieces, pieceMiB: o.pieceMiB, deltaPieces: o.deltaPieces, deltaPieceMiB: o.deltaPieceMiB, seed: o.seed },
      memoryMethod: peakMethod(),
      phases,
      serverWarnings,
      targets,
      verified,
    };
    printReport(report, verified.equal);
  });
}

await main();
