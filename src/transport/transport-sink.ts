/**
 * The engine's LogSink over the network: each log of a cycle is spooled to a file (so an upload can
 * resume at any byte after a fault without re-reading the frozen disk), then the logs of the cycle are
 * uploaded as parallel streams through whatever LogUploader stack the caller built (retry, bandwidth).
 * The cycle is acknowledged only when the replica has accepted every log.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DeliveryAck, LogSink, OutgoingCycle } from '../engine/log-sink.js';
import { normalizeGuid } from '../protocol/index.js';
import { TransportError } from './errors.js';
import { fileLogSource, type LogSource } from './log-source.js';
import { uploadAll, type LogUploader } from './log-uploader.js';

export interface TransportSinkOptions {
  uploader: LogUploader;
  /** Folder for spooled logs (one sub-folder per VM); logs are removed once acknowledged. */
  spoolDir: string;
  /** Logs uploaded at once (default 4). */
  parallelStreams?: number;
  /** Called as bytes are spooled (encoded from the frozen disks) and as they are uploaded. */
  onProgress?: (progress: DeliveryProgress) => void;
}

export interface DeliveryProgress {
  phase: 'spool' | 'upload';
  /** Bytes of log done in this phase so far. */
  bytes: number;
  /** Bytes of log this phase handles in all (known once spooling is over). */
  total: number | undefined;
}

function counter(add: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      add(chunk.length);
      done(null, chunk);
    },
  });
}

/** `source` piped through a counter, failing and closing together (the uploader destroys what it reads). */
function counted(source: Readable, add: (n: number) => void): Readable {
  const out = counter(add);
  source.on('error', (error) => out.destroy(error));
  out.on('close', () => source.destroy());
  return source.pipe(out);
}

export class TransportSink implements LogSink {
  constructor(private readonly options: TransportSinkOptions) {}

  async deliver(cycle: OutgoingCycle, signal?: AbortSignal): Promise<DeliveryAck> {
    const vmId = normalizeGuid(cycle.vmId, 'VM id');
    const dir = join(this.options.spoolDir, vmId, `${cycle.generation}-${cycle.sequence}`);
    await mkdir(dir, { recursive: true });
    const sources: LogSource[] = [];
    const report = this.options.onProgress;
    let spooled = 0;
    for (const log of cycle.logs) {
      signal?.throwIfAborted();
      const diskId = normalizeGuid(log.diskId, 'disk id');
      const path = join(dir, `${diskId}.hvrlog`);
      const count = counter((n) => report?.({ phase: 'spool', bytes: (spooled += n), total: undefined }));
      // Spooled anew for every delivery attempt: the engine's encoder is the source of truth.
      await pipeline(log.encode(), count, createWriteStream(path), ...(signal ? [{ signal }] : []));
      sources.push(await fileLogSource(path, { vmId, diskId, generation: cycle.generation, sequence: cycle.sequence }));
    }
    const total = sources.reduce((sum, s) => sum + s.length, 0);
    let uploaded = 0;
    const countedSources = report
      ? sources.map((source): LogSource => ({ ...source, open: (offset) => counted(source.open(offset), (n) => report({ phase: 'upload', bytes: (uploaded += n), total })) }))
      : sources;
    const results = await uploadAll(this.options.uploader, countedSources, this.options.parallelStreams ?? 4, signal);
    const refused = results.find((r) => !r.Accepted);
    if (refused) throw new TransportError('ERR_CONNECTION', `the replica did not accept every log of cycle ${cycle.generation}/${cycle.sequence}`, true);
    await rm(dir, { recursive: true, force: true });
    return { generation: cycle.generation, sequence: cycle.sequence, logBytes: results.reduce((sum, r) => sum + r.SentBytes, 0) };
  }
}
