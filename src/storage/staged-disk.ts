/**
 * A full copy applied while it arrives: the records of an initial replication's log are written as they
 * are decoded (header checked; compressed ones also by their checksum) into a new disk that nothing names yet. The replica takes the disk only
 * after the whole log (records and trailer) was verified and stored, and only in place of a base disk
 * that is still empty (vhdx-replica-storage.ts, applyPending); in every other case the stored log is
 * applied as usual and the staged disk is dropped. So "nothing is applied before the log is verified"
 * holds for everything the replica exposes, and the apply after the upload shrinks to a rename (after the
 * disk is checked against the log's record checksums again when it rested across a restart or changed since:
 * staged-check.ts). The disk's records are
 * written past the page cache where the file system allows (unbufferedWrites), else its writeback is started
 * as it fills (early-writeback.ts), so making it durable at the end is short either way.
 */
import { rm } from 'node:fs/promises';
import type { DecodedRecord } from '../protocol/log-decoder.js';
import { createDisk, openDisk, type VhdxDisk, type VhdxInfo } from '../vhdx/index.js';
import { SecondDescriptorWriteback, type EarlyWriteback } from './early-writeback.js';
import { SerialWrites } from './serial-writes.js';

/**
 * Writes one verified record at its absolute place (so writing it twice is harmless), and counts its bytes
 * for the disk's early writeback, when there is one.
 */
export async function writeRecord(disk: VhdxDisk, record: DecodedRecord, writeback?: Pick<EarlyWriteback, 'written'>): Promise<void> {
  // The pieces as they arrived: the engine gathers them, so the record is never joined in a buffer of its own.
  if (record.type === 'data') {
    await disk.write(record.offset, record.pieces);
    writeback?.written(record.length);
  } else if (record.type === 'zero') {
    await disk.zero(record.offset, record.length);
  } else {
    await disk.trim(record.offset, record.length);
  }
}

export class StagedDisk {
  private readonly writes = new SerialWrites();
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly disk: VhdxDisk,
    private readonly writeback: SecondDescriptorWriteback | undefined,
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
      return await StagedDisk.open(path);
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
  }

  /** Opens a staged disk an earlier upload of the same log left (suspend), to go on writing into it. */
  static async open(path: string): Promise<StagedDisk> {
    // Written once from front to back, at disk speed rather than the network's: past the page cache where the
    // file system allows (unbufferedWrites), which leaves the final flush little to write.
    const disk = await openDisk(path, { writable: true, unbufferedWrites: true });
    // Otherwise a head start for the final flush: without it the copy is staged all the same.
    const writeback = disk.writesUnbuffered() ? undefined : await SecondDescriptorWriteback.open(path);
    return new StagedDisk(path, disk, writeback);
  }

  /** One write in flight while the caller verifies the next record. */
  record(record: DecodedRecord): Promise<void> {
    return this.writes.next(() => writeRecord(this.disk, record, this.writeback));
  }

  /** Reads back what was staged (a hollow log's payloads, hollow-log.ts). */
  read(offset: number, length: number): Promise<Buffer> {
    return this.disk.read(offset, length);
  }

  /** Makes every write durable and closes the disk; its path is then handed over with the log. */
  async finish(): Promise<string> {
    await this.suspend();
    return this.path;
  }

  /**
   * Makes every write durable and closes the disk, keeping the file: an upload cut short goes on into it
   * later (open). Fails, and drops the disk, when a write or sync failed.
   */
  async suspend(): Promise<void> {
    try {
      await this.writes.drain();
      // A failed background sync fails the disk, even if the engine's own flush would not see it again.
      await this.writeback?.settle();
      await this.disk.flush();
    } catch (error) {
      await this.discard();
      throw error;
    }
    await this.writeback?.close();
    this.closed = true;
    await this.disk.close();
  }

  /** Drops the disk (the log failed, or staging did). */
  async discard(): Promise<void> {
    await this.writes.drain().catch(() => undefined);
    await this.writeback?.close();
    if (!this.closed) {
      this.closed = true;
      await this.disk.close().catch(() => undefined);
    }
    await rm(this.path, { force: true });
  }
}
