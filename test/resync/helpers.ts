/**
 * Shared by the resync suites: which blocks a `hvreplica workload` journal touched (the most a hash
 * comparison may find different), and the replica's recovery points read from its storage.
 */
import { readFile } from 'node:fs/promises';
import type { JournalEntry } from '../../src/host/file/workload.js';
import { openVhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import type { RecoveryPoint } from '../../src/storage/replica-storage.js';

/** Bytes of the `blockSize` blocks the journal's writes touched, over every disk. */
export async function touchedBytes(journal: string, blockSize: number, diskSizes: Map<string, number>): Promise<number> {
  const blocks = new Map<string, Set<number>>();
  for (const line of (await readFile(journal, 'utf8')).split('\n')) {
    if (!line.trim()) continue;
    const entry = JSON.parse(line) as JournalEntry;
    const set = blocks.get(entry.disk) ?? new Set<number>();
    for (let b = Math.floor(entry.offset / blockSize); b * blockSize < entry.offset + entry.length; b += 1) set.add(b);
    blocks.set(entry.disk, set);
  }
  let total = 0;
  for (const [disk, set] of blocks) {
    const size = diskSizes.get(disk);
    if (size === undefined) throw new Error(`the journal names disk '${disk}', which the VM has not`);
    for (const b of set) total += Math.min(blockSize, size - b * blockSize);
  }
  return total;
}

export async function recoveryPoints(replicaDir: string): Promise<RecoveryPoint[]> {
  return (await openVhdxReplicaStorage(replicaDir)).listRecoveryPoints();
}
