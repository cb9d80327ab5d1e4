/**
 * A full copy applied while it arrives: the records of an initial replication's log are written as they
 * are decoded (header checked; compressed ones also by their checksum) into a new disk that nothing names yet. The replica takes the disk only
 * after the whole log (records and trailer) was verified and stored, and only in place of a base disk
 * that is still empty (vhdx-replica-storage.ts, applyPending); in every other case the stored log is
 * applied as usual and the staged disk is dropped. So "nothing is applied before the log is verified"
 * holds for everything the replica exposes, and the apply after the upload shrinks to a rename.
 */
import { rm } from 'node:fs/promises';
import type { DecodedRecord } from '../protocol/log-decoder.js';
import { createDisk, openDisk, type VhdxDisk, type VhdxInfo } from '../vhdx/index.js';
import { SerialWrites } from './serial-writes.js';

/** Writes one verified record at its absolute place (so writing it twice is harmless). */
export function writeRecord(disk: VhdxDisk, record: DecodedRecord): Promise<void> {
  if (record.type === 'data') return disk.write(record.offset, record.data);
  if (record.type === 'zero') return disk.zero(record.offset, record.length);
  return disk.trim(record.offset, record.length);
}

export class StagedDisk {
  private readonly writes = new SerialWrites();
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly disk: VhdxDisk,
  ) {}

  /** Creates an empty dynamic disk at `path` shaped like `like` (the base it may replace). */
  static async create(path: string, like: VhdxInfo): Promise<StagedDisk> {
    await rm(path, { force: true });
    await createDisk(path, {
      type: 'dynamic',
      virtualSize: like.virtualSize,
      blockSize: like.blockSize,
      logicalSectorSize: like.logicalSectorSize,
      physicalSectorSize: like.physicalSectorSize,
    });
    try {
      return new StagedDisk(path, await openDisk(path, { writable: true }));
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
  }

  /** One write in flight while the caller verifies the next record. */
  record(record: DecodedRecord): Promise<void> {
    return this.writes.next(() => writeRecord(this.disk, record));
  }

  /** Makes every write durable and closes the disk; its path is then handed over with the log. */
  async finish(): Promise<string> {
    try {
      await this.writes.drain();
      await this.disk.flush();
    } catch (error) {
      await this.discard();
      throw error;
    }
    this.closed = true;
    await this.disk.close();
    return this.path;
  }

  /** Drops the disk (the log failed, or staging did). */
  async discard(): Promise<void> {
    await this.writes.drain().catch(() => undefined);
    if (!this.closed) {
      this.closed = true;
      await this.disk.close().catch(() => undefined);
    }
    await rm(this.path, { force: true });
  }
}
