/**
 * GUIDs (VM ids, disk ids) as text and in Microsoft's binary layout (Data1..Data3 little-endian), the
 * layout VHDX and WMI use, so ids in a log compare byte-for-byte with ids read from a disk.
 */
import { ProtocolArgumentError } from './errors.js';

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Lower-case canonical form; accepts upper case and `{...}` braces as Windows prints them. */
export function normalizeGuid(value: string, what = 'id'): string {
  const text = value.trim().replace(/^\{(.*)\}$/, '$1').toLowerCase();
  if (!GUID_RE.test(text)) {
    throw new ProtocolArgumentError(`${what} "${value}" is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`);
  }
  return text;
}

export function isGuid(value: string): boolean {
  return GUID_RE.test(value);
}

export function guidToBytes(value: string): Buffer {
  const hex = normalizeGuid(value).replaceAll('-', '');
  const raw = Buffer.from(hex, 'hex');
  const out = Buffer.alloc(16);
  out.writeUInt32LE(raw.readUInt32BE(0), 0);
  out.writeUInt16LE(raw.readUInt16BE(4), 4);
  out.writeUInt16LE(raw.readUInt16BE(6), 6);
  raw.copy(out, 8, 8, 16);
  return out;
}

export function guidFromBytes(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, 16);
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  const tail = b.subarray(8, 16).toString('hex');
  return `${hex(b.readUInt32LE(0), 8)}-${hex(b.readUInt16LE(4), 4)}-${hex(b.readUInt16LE(6), 4)}-${tail.slice(0, 4)}-${tail.slice(4)}`;
}
