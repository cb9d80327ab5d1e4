import { randomBytes } from 'node:crypto';
import { encodeLog, type EncodeOptions, type LogHeaderInput, type LogRecordInput } from '../../src/protocol/index.js';

export const VM_ID = '5d1e4c2a-9b3f-4e6d-8a7c-0f1e2d3c4b5a';
export const DISK_ID = 'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d';

export function header(overrides: Partial<LogHeaderInput> = {}): LogHeaderInput {
  return {
    vmId: VM_ID,
    diskId: DISK_ID,
    generation: 3,
    sequence: 42,
    baseReferencePoint: 'rct:base-1',
    newReferencePoint: 'rct:new-2',
    virtualSize: 64 * 1024 * 1024,
    logicalSectorSize: 512,
    consistency: 'crash',
    ...overrides,
  };
}

/** Compressible but not trivial content: text-like lines with a counter. */
export function textLike(length: number, seed = 0): Buffer {
  const buf = Buffer.alloc(length);
  let at = 0;
  let n = seed;
  while (at < length) at += buf.write(`record ${n++} of the replica log, value=${(n * 2654435761) % 1000}\n`, at);
  return buf;
}

export function sampleRecords(): LogRecordInput[] {
  return [
    { type: 'data', offset: 0, data: textLike(128 * 1024) },
    { type: 'data', offset: 1024 * 1024, data: randomBytes(64 * 1024) },
    { type: 'data', offset: 2 * 1024 * 1024, data: Buffer.alloc(8192) },
    { type: 'zero', offset: 4 * 1024 * 1024, length: 1024 * 1024 },
    { type: 'trim', offset: 8 * 1024 * 1024, length: 4096 },
  ];
}

export async function encodeToBuffer(
  h: LogHeaderInput = header(),
  records: LogRecordInput[] = sampleRecords(),
  options: EncodeOptions = {},
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of encodeLog(h, records, options)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Feeds a buffer to a decoder in small chunks, as a network would. */
export async function* chunked(buf: Buffer, size = 777): AsyncGenerator<Buffer> {
  for (let at = 0; at < buf.length; at += size) yield buf.subarray(at, at + size);
}
