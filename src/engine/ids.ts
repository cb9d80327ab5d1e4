/**
 * Log headers carry GUIDs, while a host may name VMs and disks otherwise (the file host names a disk
 * after its file). A name that is not a GUID is turned into one by hashing it with the VM id, so the
 * same disk gets the same id on every cycle and on every host, and two disks never share one.
 */
import { createHash } from 'node:crypto';
import { isGuid, normalizeGuid } from '../protocol/guid.js';

function hashGuid(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\0')).digest('hex');
  // Shaped as an RFC 4122 name-based id (version 8 = custom, variant 10) so tools accept it.
  const variant = ((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

function asGuid(value: string): string | undefined {
  const text = value.trim().replace(/^\{(.*)\}$/, '$1').toLowerCase();
  return isGuid(text) ? normalizeGuid(text) : undefined;
}

export function vmLogId(vmId: string): string {
  return asGuid(vmId) ?? hashGuid('hvreplica-vm', vmId);
}

export function diskLogId(vmId: string, diskId: string): string {
  return asGuid(diskId) ?? hashGuid('hvreplica-disk', vmId, diskId);
}
