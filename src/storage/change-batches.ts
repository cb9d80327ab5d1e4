/**
 * A stored log's records written into a replica disk in batches: one call into the VHDX engine (one job on
 * libuv's pool, VhdxDisk.apply) per few MiB of records instead of one per record, with one batch in flight
 * while the next is decoded and checked. A scattered delta is hundreds of records of 4–256 KiB; written one
 * by one, each waited for a hand-off to the pool and back, and on a busy 2-core host those waits took longer
 * than the writes (bench/replication/README.md, "Replica apply"). Order is kept: a batch applies its records
 * in log order and starts only after the one before it settled.
 */
import type { DiskChange, VhdxDisk } from '../vhdx/index.js';
import type { EarlyWriteback } from './early-writeback.js';
import { SerialWrites } from './serial-writes.js';

export interface BatchLimits {
  /** A batch is sent once its records hold this many data bytes… */
  bytes: number;
  /** …or count this many records, whichever comes first. */
  records: number;
}

/** 4 MiB: the first batch starts after a few ms of decoding; a full copy's 1 MiB records go four at a time. */
export const DEFAULT_BATCH_LIMITS: BatchLimits = { bytes: 4 * 1024 * 1024, records: 512 };

export class ChangeBatches {
  private readonly writes = new SerialWrites();
  private batch: DiskChange[] = [];
  private bytes = 0;

  /** `source`: the file the batches' 'copy' changes copy from (VhdxDisk.apply). */
  constructor(
    private readonly disk: VhdxDisk,
    private readonly writeback?: Pick<EarlyWriteback, 'written'>,
    private readonly limits: BatchLimits = DEFAULT_BATCH_LIMITS,
    private readonly source?: string,
  ) {}

  /** Adds a verified record (a decoded one is a DiskChange); sends the batch when it is full (waiting only for the batch before it). */
  async add(change: DiskChange): Promise<void> {
    this.batch.push(change);
    if (change.type === 'copy') this.bytes += change.length;
    else if (change.type === 'data') for (const piece of change.pieces) this.bytes += piece.length;
    if (this.bytes >= this.limits.bytes || this.batch.length >= this.limits.records) await this.send();
  }

  /** Every record added so far is written (sent and settled); rethrows the first failure of any batch. */
  async drain(): Promise<void> {
    await this.send();
    await this.writes.drain();
  }

  /** Drops what was not sent and waits for the batch in flight, if any (after a failure). Never throws. */
  async abandon(): Promise<void> {
    this.batch = [];
    this.bytes = 0;
    await this.writes.drain().catch(() => undefined);
  }

  private async send(): Promise<void> {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    const bytes = this.bytes;
    this.batch = [];
    this.bytes = 0;
    await this.writes.next(async () => {
      await this.disk.apply(batch, this.source);
      this.writeback?.written(bytes);
    });
  }
}
