/** Logs and expected content for replica storage tests: encode with the real encoder, model in memory. */
import { createHash, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { encodeLog, type EncodeOptions, type LogRecordInput } from '../../src/protocol/log-encoder.js';
import type { Consistency } from '../../src/protocol/log-format.js';
import type { VhdxDisk } from '../../src/vhdx/index.js';

export const MiB = 1024 * 1024;
export const VM_ID = '6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7';
export const DISKS = [
  { diskId: '0a000000-0000-4000-8000-000000000001', virtualSize: 8 * MiB, logicalSectorSize: 512 as const },
  { diskId: '0a000000-0000-4000-8000-000000000002', virtualSize: 4 * MiB, logicalSectorSize: 512 as const },
];

export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** What each disk should read as: the records applied to plain buffers. */
export class DiskModel {
  readonly disks = new Map(DISKS.map((d) => [d.diskId, Buffer.alloc(d.virtualSize)]));
  apply(diskId: string, records: LogRecordInput[]): void {
    const disk = this.disks.get(diskId)!;
    for (const r of records) {
      if (r.type === 'data') r.data.copy(disk, r.offset);
      else disk.fill(0, r.offset, r.offset + r.length);
    }
  }
  hashes(): Record<string, string> {
    return Object.fromEntries([...this.disks].map(([id, b]) => [id, sha(b)]));
  }
}

export interface CycleSpec {
  generation: number;
  sequence: number;
  base: string;
  next: string;
  consistency?: Consistency;
}

export async function encode(diskId: string, cycle: CycleSpec, records: LogRecordInput[], vmId = VM_ID, options: EncodeOptions = {}): Promise<Buffer> {
  const disk = DISKS.find((d) => d.diskId === diskId) ?? DISKS[0]!;
  const header = {
    vmId,
    diskId,
    generation: cycle.generation,
    sequence: cycle.sequence,
    baseReferencePoint: cycle.base,
    newReferencePoint: cycle.next,
    virtualSize: disk.virtualSize,
    logicalSectorSize: disk.logicalSectorSize,
    consistency: cycle.consistency ?? 'crash',
  };
  const chunks: Buffer[] = [];
  for await (const chunk of encodeLog(header, records, options)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** A log as a stream of small chunks, as it arrives from the network. */
export async function* stream(log: Buffer, chunk = 64 * 1024): AsyncGenerator<Buffer> {
  for (let at = 0; at < log.length; at += chunk) yield log.subarray(at, at + chunk);
}

/** Random writes, zeros and trims, sector-aligned, inside a disk of `size` bytes. */
export function randomRecords(size: number, count: number): LogRecordInput[] {
  const out: LogRecordInput[] = [];
  for (let i = 0; i < count; i += 1) {
    const length = (1 + Math.floor(Math.random() * 256)) * 512;
    const offset = Math.floor(Math.random() * ((size - length) / 512)) * 512;
    const roll = Math.random();
    if (roll < 0.7) out.push({ type: 'data', offset, data: randomBytes(length) });
    else if (roll < 0.85) out.push({ type: 'zero', offset, length });
    else out.push({ type: 'trim', offset, length });
  }
  return out;
}

export async function readAll(disk: VhdxDisk): Promise<Buffer> {
  const out = Buffer.alloc(disk.info.virtualSize);
  for (let at = 0; at < out.length; at += MiB) await disk.read(at, out.subarray(at, Math.min(out.length, at + MiB)));
  return out;
}

/** The SHA-256 of what each disk of the replica's latest state reads. */
export async function latestHashes(storage: { openLatest(diskId: string): Promise<VhdxDisk> }): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const { diskId } of DISKS) {
    const disk = await storage.openLatest(diskId);
    try {
      out[diskId] = sha(await readAll(disk));
    } finally {
      await disk.close();
    }
  }
  return out;
}

/** Flips one bit of the byte `within` bytes into the first record's payload of the log file at `path` (damage at rest). */
export async function damageFirstPayload(path: string, within: number): Promise<void> {
  const file = await open(path, 'r+');
  try {
    // After the header (its length at byte 10) and the 56-byte record header.
    const head = Buffer.alloc(12);
    await file.read(head, 0, 12, 0);
    const at = head.readUInt16LE(10) + 56 + within;
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0x20;
    await file.write(byte, 0, 1, at);
  } finally {
    await file.close();
  }
}

/** Steppable time for seal intervals. */
export class ManualClock {
  now = new Date('2026-01-01T00:00:00Z');
  readonly read = (): Date => this.now;
  advance(ms: number): void {
    this.now = new Date(this.now.getTime() + ms);
  }
}
