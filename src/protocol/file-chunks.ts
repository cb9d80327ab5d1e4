/**
 * A file's bytes as chunks read at increasing positions, for the log decoder, which can pass over a range
 * unread (SkippingChunks). A staged full copy's hollow log (src/replica/hollow-log.ts) is the length of the
 * log but holds little more than its framing: checking or verifying it reads the framing and seeks over the
 * payload holes, where a read stream read every hole as zeros (0.2–0.4 s of CPU per GiB of log on the test
 * VM, bench/replication/README.md, "Staged and kept data checked again").
 *
 * The file's length is taken when it is opened (a stored log does not change). Small chunks suit a log read
 * for its framing: each read of a record header brings in at most one chunk of the payload after it.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { SkippingChunks } from './chunk-reader.js';

export class FileChunks implements AsyncIterableIterator<Buffer>, SkippingChunks {
  private handle: FileHandle | undefined;
  private size = 0;
  private position = 0;
  private finished = false;

  constructor(
    private readonly path: string,
    private readonly chunkBytes: number,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Buffer, undefined>> {
    if (this.finished) return { done: true, value: undefined };
    const handle = await this.opened();
    const n = Math.min(this.chunkBytes, this.size - this.position);
    const chunk = Buffer.allocUnsafe(Math.max(n, 0));
    const { bytesRead } = n > 0 ? await handle.read(chunk, 0, n, this.position) : { bytesRead: 0 };
    // At the end (or the file was cut since it was opened: the decoder then says the log is cut short).
    if (bytesRead === 0) return this.return();
    this.position += bytesRead;
    return { done: false, value: chunk.subarray(0, bytesRead) };
  }

  async skip(n: number): Promise<number> {
    if (this.finished) return 0;
    await this.opened();
    const passed = Math.max(0, Math.min(n, this.size - this.position));
    this.position += passed;
    return passed;
  }

  async return(): Promise<IteratorResult<Buffer, undefined>> {
    this.finished = true;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
    return { done: true, value: undefined };
  }

  private async opened(): Promise<FileHandle> {
    if (this.handle === undefined) {
      this.handle = await open(this.path, 'r');
      this.size = (await this.handle.stat()).size;
    }
    return this.handle;
  }
}
