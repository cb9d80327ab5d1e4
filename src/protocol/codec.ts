/**
 * Payload codecs of data records, and the policy that picks one per record. Only what node 20 ships:
 * no compression, raw deflate and brotli (zstd needs node 22.15). Measured on this 2-core VM with
 * 1 MiB records of mixed content (see the report in the issue): brotli quality 1 compresses better
 * and faster than deflate level 1, so it is the default; incompressible data is stored as is.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { CodecId } from './log-format.js';
import { LogFormatError, ProtocolArgumentError } from './errors.js';

export interface Codec {
  readonly id: CodecId;
  readonly name: string;
  compress(data: Buffer): Promise<Buffer>;
  /** Decompresses to exactly `length` bytes; anything else is corruption. */
  decompress(stored: Buffer, length: number): Promise<Buffer>;
}

const deflateRaw = promisify(zlib.deflateRaw);
const inflateRaw = promisify(zlib.inflateRaw);
const brotliCompress = promisify(zlib.brotliCompress);
const brotliDecompress = promisify(zlib.brotliDecompress);

function checkLength(out: Buffer, length: number, name: string): Buffer {
  if (out.length !== length) {
    throw new LogFormatError('ERR_LOG_CHECKSUM', `${name} payload decompressed to ${out.length} bytes instead of ${length}: the record is corrupt`);
  }
  return out;
}

async function guarded(name: string, run: () => Promise<Buffer>): Promise<Buffer> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof LogFormatError) throw error;
    // zlib reports corrupt input and output beyond maxOutputLength alike; both mean a damaged record.
    throw new LogFormatError('ERR_LOG_CHECKSUM', `${name} payload cannot be decompressed (${(error as Error).message}): the record is corrupt`);
  }
}

export const noneCodec: Codec = {
  id: CodecId.None,
  name: 'none',
  compress: async (data) => data,
  decompress: async (stored, length) => checkLength(stored, length, 'uncompressed'),
};

export function deflateCodec(level = 1): Codec {
  return {
    id: CodecId.Deflate,
    name: `deflate-${level}`,
    compress: (data) => deflateRaw(data, { level }),
    decompress: (stored, length) =>
      guarded('deflate', async () => checkLength(await inflateRaw(stored, { maxOutputLength: Math.max(1, length) }), length, 'deflate')),
  };
}

export function brotliCodec(quality = 1): Codec {
  return {
    id: CodecId.Brotli,
    name: `brotli-${quality}`,
    compress: (data) =>
      brotliCompress(data, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: quality,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
          [zlib.constants.BROTLI_PARAM_LGWIN]: 22,
        },
      }),
    decompress: (stored, length) =>
      guarded('brotli', async () => checkLength(await brotliDecompress(stored, { maxOutputLength: Math.max(1, length) }), length, 'brotli')),
  };
}

/** Decoders for every codec id the format defines (levels only matter when compressing). */
export function codecForId(id: CodecId): Codec {
  switch (id) {
    case CodecId.None:
      return noneCodec;
    case CodecId.Deflate:
      return deflateCodec();
    case CodecId.Brotli:
      return brotliCodec();
  }
}

export const CODEC_NAMES = ['none', 'deflate', 'brotli'] as const;
export type CodecName = (typeof CODEC_NAMES)[number];

export function codecByName(name: CodecName, level?: number): Codec {
  if (name === 'none') return noneCodec;
  return name === 'deflate' ? deflateCodec(level ?? 1) : brotliCodec(level ?? 1);
}

export interface EncodedPayload {
  codec: CodecId;
  stored: Buffer;
}

/** Chooses how each data record is stored. */
export interface CodecPolicy {
  encode(data: Buffer): Promise<EncodedPayload>;
}

export interface AdaptiveCodecOptions {
  /** Store compressed only when it saves at least this fraction of the bytes (default 1/16). */
  minSaving?: number;
  /** After this many incompressible records in a row, stop trying for a while (default 4). */
  giveUpAfter?: number;
  /** How many records to store raw before trying to compress again (default 16). */
  retryAfter?: number;
  /**
   * Each further run of incompressible records doubles the pause, up to this many records (default 128);
   * a compressed record brings it back to `retryAfter`. A disk of encrypted or already compressed data
   * (or the incompressible fill of the bench) then pays for a probe every 128 records instead of one run
   * of probes every 16: measured, 208 sampled compressions per GiB of 1 MiB records (~120–220 ms of CPU)
   * became 28.
   */
  maxRetryAfter?: number;
  /**
   * Records at least this large are judged by a sample first (default 128 KiB): slices spread over the
   * record are compressed together, and only when they shrink enough is the whole record compressed.
   */
  sampleAbove?: number;
  /** Slices in a sample (default 4). */
  sampleSlices?: number;
  /** Bytes per slice (default 16 KiB). */
  sliceBytes?: number;
}

/**
 * Compresses with one codec and measures the result: a record that does not shrink enough is stored
 * raw, and a run of incompressible records (encrypted or already compressed guest data) pauses the
 * attempts so that such a disk costs no CPU for nothing. A large record is first judged by a sample of
 * a few slices: compressing all of an incompressible 1 MiB record to throw the result away cost more CPU
 * than hashing it (and the replica server shares the machine's cores with the primary in the bench).
 */
export class AdaptiveCodecPolicy implements CodecPolicy {
  private readonly minSaving: number;
  private readonly giveUpAfter: number;
  private readonly retryAfter: number;
  private readonly maxRetryAfter: number;
  /** The pause after the next run of incompressible records. */
  private pause: number;
  private incompressibleRun = 0;
  private skipRemaining = 0;
  private readonly sampleAbove: number;
  private readonly sampleSlices: number;
  private readonly sliceBytes: number;
  /** compressed; stored raw after compressing (whole or a sample) did not pay; skipped without trying. */
  readonly stats = { compressed: 0, stored: 0, skipped: 0 };

  constructor(
    private readonly codec: Codec = brotliCodec(1),
    options: AdaptiveCodecOptions = {},
  ) {
    this.minSaving = options.minSaving ?? 1 / 16;
    this.giveUpAfter = options.giveUpAfter ?? 4;
    this.retryAfter = options.retryAfter ?? 16;
    this.maxRetryAfter = Math.max(this.retryAfter, options.maxRetryAfter ?? 128);
    this.pause = this.retryAfter;
    this.sampleAbove = options.sampleAbove ?? 128 * 1024;
    this.sampleSlices = options.sampleSlices ?? 4;
    this.sliceBytes = options.sliceBytes ?? 16 * 1024;
    if (!(this.sampleSlices >= 1 && this.sliceBytes >= 1 && this.sampleAbove >= this.sampleSlices * this.sliceBytes)) {
      throw new ProtocolArgumentError(`codec sampling needs sampleSlices and sliceBytes of at least 1 and sampleAbove of at least their product (got ${this.sampleSlices}, ${this.sliceBytes}, ${this.sampleAbove})`);
    }
  }

  /** Slices spread evenly over the record, the first at its start and the last at its end. */
  private sample(data: Buffer): Buffer {
    const slices: Buffer[] = [];
    const stride = (data.length - this.sliceBytes) / Math.max(1, this.sampleSlices - 1);
    for (let i = 0; i < this.sampleSlices; i += 1) {
      const at = Math.floor(i * stride);
      slices.push(data.subarray(at, at + this.sliceBytes));
    }
    return Buffer.concat(slices);
  }

  private pays(compressed: Buffer, original: number): boolean {
    return compressed.length <= original * (1 - this.minSaving);
  }

  private incompressible(data: Buffer): EncodedPayload {
    this.stats.stored += 1;
    this.incompressibleRun += 1;
    if (this.incompressibleRun >= this.giveUpAfter) {
      this.incompressibleRun = 0;
      this.skipRemaining = this.pause;
      this.pause = Math.min(this.maxRetryAfter, this.pause * 2);
    }
    return { codec: CodecId.None, stored: data };
  }

  async encode(data: Buffer): Promise<EncodedPayload> {
    if (this.codec.id === CodecId.None) return { codec: CodecId.None, stored: data };
    if (this.skipRemaining > 0) {
      this.skipRemaining -= 1;
      this.stats.skipped += 1;
      return { codec: CodecId.None, stored: data };
    }
    if (data.length >= this.sampleAbove) {
      const sample = this.sample(data);
      if (!this.pays(await this.codec.compress(sample), sample.length)) return this.incompressible(data);
    }
    const compressed = await this.codec.compress(data);
    if (!this.pays(compressed, data.length)) return this.incompressible(data);
    this.incompressibleRun = 0;
    this.pause = this.retryAfter;
    this.stats.compressed += 1;
    return { codec: this.codec.id, stored: compressed };
  }
}
