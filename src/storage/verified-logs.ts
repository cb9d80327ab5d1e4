/**
 * Stored logs this process verified whole before it stored them, and the disks it staged full copies into from
 * those very bytes (staged-disk.ts; taken or read without the check of staged-check.ts when unchanged) (every record checksum, over the bytes as they
 * arrived and were written to the file, or as read back from it; then the file was synced), with what the file
 * was then: inode, size and modification time (not the change time: the
 * receiver's own name for the file goes after the store, and that changes it). A log that is
 * still that file when it is applied may have its payloads copied into the replica's disk file to file,
 * unchecked (vhdx-replica-storage.ts, applyLog); any other (kept across a restart, or written to since, by
 * whatever process) is read and checked record by record as before. Names are unique (a random part).
 *
 * What this does not see: bits that rot on the medium, or in memory, without a write through the file system in
 * the seconds between the store and the apply (the file is normally read back from the page cache then), nor a
 * write that keeps the modification time (utimes, or on kernels before 6.13 with coarse timestamps a write in
 * the same few ms as the last one before the store). The bytes written into the replica's disk are not checked
 * again after the apply either.
 */
import { stat } from 'node:fs/promises';

interface FileIdentity {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
}

async function identityOf(path: string): Promise<FileIdentity> {
  const s = await stat(path, { bigint: true });
  return { ino: s.ino, size: s.size, mtimeNs: s.mtimeNs };
}

class VerifiedLogs {
  private readonly files = new Map<string, FileIdentity>();

  /** `path` was verified whole by this process and is durable under that name (call after its last rename). */
  async remember(path: string): Promise<void> {
    this.files.set(path, await identityOf(path));
  }

  /** True when `path` is a log remembered here and its file has not changed since. */
  async unchanged(path: string): Promise<boolean> {
    const then = this.files.get(path);
    if (then === undefined) return false;
    const now = await identityOf(path).catch(() => undefined);
    return now !== undefined && now.ino === then.ino && now.size === then.size && now.mtimeNs === then.mtimeNs;
  }

  forget(path: string): void {
    this.files.delete(path);
  }
}

/** One per process: the replica server opens a storage anew for each log it stores, and a cycle's logs span them. */
export const verifiedLogs = new VerifiedLogs();
