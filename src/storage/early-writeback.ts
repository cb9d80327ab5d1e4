/**
 * Starts the disk's writeback while a large file is still being written, so that the fsync that makes it
 * durable at the end is short. Without it the kernel holds most of a 1 GiB upload as dirty pages and the
 * final fsync writes them all while the network is idle (measured: ~3 s at the end of a 1 GiB initial
 * copy, for the received log and the staging disk). Every `everyBytes` an fdatasync of the file starts on
 * the thread pool without anyone waiting for it (node offers no sync_file_range); writes carry on meanwhile.
 *
 * This is only a head start: it promises no durability. The owner still syncs the file at the end before
 * saying its bytes are held, and calls settle() before that (and before closing the file): a background
 * sync must not outlive the descriptor, and its failure is the owner's (on some systems a write error is
 * reported to one fsync only, so a failure seen here must fail the file).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { logger } from '../logging/logger.js';

const log = logger('storage');

export const EARLY_WRITEBACK_BYTES = 32 * 1024 * 1024;

export class EarlyWriteback {
  private unsynced = 0;
  private running: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly handle: Pick<FileHandle, 'datasync'>,
    private readonly everyBytes = EARLY_WRITEBACK_BYTES,
  ) {}

  /** Counts bytes just written; starts a background sync when enough are unsynced and none runs. */
  written(bytes: number): void {
    this.unsynced += bytes;
    if (this.unsynced < this.everyBytes || this.running || this.failure) return;
    this.unsynced = 0;
    this.running = this.handle.datasync().then(
      () => {
        this.running = undefined;
      },
      (error: unknown) => {
        this.running = undefined;
        this.failure ??= { error };
      },
    );
  }

  /** Waits for the background sync, if any; rethrows the first failure of one. */
  async settle(): Promise<void> {
    await this.running;
    if (this.failure) throw this.failure.error;
  }
}

/**
 * Early writeback of a file whose writes go through a descriptor this code does not hold (the VHDX engine's
 * own): a second descriptor of the same file, only for the background syncs, which reach the same pages.
 */
export class SecondDescriptorWriteback extends EarlyWriteback {
  private constructor(private readonly file: FileHandle) {
    super(file);
  }

  /** Undefined where the file cannot be opened a second time: only the head start is lost, with a debug line. */
  static async open(path: string): Promise<SecondDescriptorWriteback | undefined> {
    try {
      return new SecondDescriptorWriteback(await open(path, 'r+'));
    } catch (error) {
      log.debug('no early writeback for this file', { path, error: (error as Error).message });
      return undefined;
    }
  }

  /** Waits for a background sync and closes the descriptor. Never throws: settle() is where a failure is seen. */
  async close(): Promise<void> {
    await this.settle().catch(() => undefined);
    await this.file.close().catch(() => undefined);
  }
}
