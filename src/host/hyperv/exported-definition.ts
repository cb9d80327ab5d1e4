/**
 * The Hyper-V VM configuration that travels from primary to replica: the files ExportSystemDefinition
 * writes (the .vmcx, the guest-state .vmgs, no disks), gzip-compressed so that a mostly empty 4 MiB
 * guest-state file costs a few KiB, with size and SHA-256 so that the replica writes back exactly what
 * the primary exported. The wire form is ReplicaVmDefinition.HostConfiguration (src/protocol).
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  MAX_HOST_CONFIGURATION_CHARS,
  MAX_HOST_CONFIGURATION_FILE_BYTES,
  MAX_HOST_CONFIGURATION_FILES,
  validateHostConfigurationPath,
  type ReplicaVmHostConfiguration,
} from '../../protocol/replica-vm.js';
import { normalizeGuid } from '../../protocol/guid.js';
import { HostError } from '../host-error.js';
import type { ExportedVmDefinition } from '../host-adapter.js';

/** Disks travel as replication logs; an export that holds one anyway must not ship it. */
const DISK_FILE = /\.(a?vhdx?|vhds|avhd)$/i;

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Reads what ExportSystemDefinition wrote into `dir` (disk files excluded) as a shippable definition. */
export async function packExportFolder(dir: string, vmId: string, vmName: string): Promise<ExportedVmDefinition> {
  const paths = (await listFiles(dir)).filter((p) => !DISK_FILE.test(p)).sort();
  const files: ExportedVmDefinition['files'] = [];
  let chars = 0;
  for (const path of paths) {
    const rel = relative(dir, path).split(sep).join('/');
    validateHostConfigurationPath(rel, `exported file of '${vmName}'`);
    const size = (await stat(path)).size;
    if (size > MAX_HOST_CONFIGURATION_FILE_BYTES) {
      throw new HostError('ERR_NOT_SUPPORTED', `the exported configuration of '${vmName}' holds ${rel} of ${size} bytes; at most ${MAX_HOST_CONFIGURATION_FILE_BYTES} per file can be shipped to the replica`);
    }
    const data = await readFile(path);
    const gzipBase64 = gzipSync(data, { level: 9 }).toString('base64');
    chars += gzipBase64.length;
    files.push({ path: rel, size: data.length, sha256: createHash('sha256').update(data).digest('hex'), gzipBase64 });
  }
  if (!files.some((f) => /\.vmcx$/i.test(f.path))) {
    throw new HostError('ERR_VM_CONFIG_INVALID', `Hyper-V exported no .vmcx for '${vmName}' into ${dir}; check the export with Export-VM -Name '${vmName}' -Path <folder> -CaptureLiveState CaptureCrashConsistentState`);
  }
  if (files.length > MAX_HOST_CONFIGURATION_FILES || chars > MAX_HOST_CONFIGURATION_CHARS) {
    throw new HostError(
      'ERR_NOT_SUPPORTED',
      `the exported configuration of '${vmName}' is ${files.length} files and ${chars} characters compressed; the replica VM definition carries at most ${MAX_HOST_CONFIGURATION_FILES} files and ${MAX_HOST_CONFIGURATION_CHARS} characters`,
    );
  }
  return { format: 'hyperv-export', vmId: normalizeGuid(vmId, 'VM id'), files };
}

export function toWire(definition: ExportedVmDefinition): ReplicaVmHostConfiguration {
  return {
    Format: definition.format,
    VMId: definition.vmId,
    Files: definition.files.map((f) => ({ Path: f.path, Size: f.size, Sha256: f.sha256, GzipBase64: f.gzipBase64 })),
  };
}

/** The replica side: a validated wire definition (parseReplicaVmDefinition) back into the host's type. */
export function fromWire(wire: ReplicaVmHostConfiguration): ExportedVmDefinition {
  return {
    format: wire.Format,
    vmId: wire.VMId,
    files: wire.Files.map((f) => ({ path: f.Path, size: f.Size, sha256: f.Sha256, gzipBase64: f.GzipBase64 })),
  };
}

/**
 * Writes the files into `folder` (the layout the primary exported), each checked against its size and
 * SHA-256, and returns the path of the .vmcx to import. The definition may come from the network or a
 * failover record, so every path is validated again here.
 */
export async function materialiseDefinition(definition: ExportedVmDefinition, folder: string, vmName: string): Promise<string> {
  if (definition.format !== 'hyperv-export') {
    throw new HostError('ERR_VM_CONFIG_INVALID', `the configuration of '${vmName}' is in format '${String(definition.format)}', which this Hyper-V adapter cannot import`);
  }
  const vmcx = definition.files.filter((f) => /\.vmcx$/i.test(f.path));
  const wanted = vmcx.find((f) => f.path.toLowerCase().endsWith(`${definition.vmId.toLowerCase()}.vmcx`)) ?? (vmcx.length === 1 ? vmcx[0] : undefined);
  if (!wanted) {
    throw new HostError('ERR_VM_CONFIG_INVALID', `the configuration of '${vmName}' names ${vmcx.length} .vmcx files and none of VM ${definition.vmId}; start the initial replication again so that the primary exports it anew`);
  }
  let out = '';
  for (const file of definition.files) {
    const rel = validateHostConfigurationPath(file.path, `configuration file of '${vmName}'`);
    let data: Buffer;
    try {
      // Bounded: a forged entry must not inflate into gigabytes.
      data = gunzipSync(Buffer.from(file.gzipBase64, 'base64'), { maxOutputLength: Math.max(1, file.size) });
    } catch (error) {
      throw new HostError('ERR_VM_CONFIG_INVALID', `configuration file ${rel} of '${vmName}' does not decompress to its ${file.size} bytes (${(error as Error).message}); start the initial replication again`);
    }
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (data.length !== file.size || sha256 !== file.sha256.toLowerCase()) {
      throw new HostError('ERR_VM_CONFIG_INVALID', `configuration file ${rel} of '${vmName}' is damaged (${data.length} bytes, SHA-256 ${sha256}; the primary exported ${file.size} bytes, ${file.sha256}); start the initial replication again`);
    }
    const target = join(folder, ...rel.split('/'));
    await mkdir(join(target, '..'), { recursive: true });
    await writeFile(target, data);
    if (file === wanted) out = target;
  }
  return out;
}
