/**
 * Initial replication to removable media: a LogSink that writes the cycle's logs (the same format that
 * crosses the network) and the replica VM definition into `<destination>/<VMName>_<VMId>/`. Writing them
 * durably is the acknowledgement: the primary then commits its reference point, deltas follow over the
 * network, and the replica applies them once `hvreplica initial import` has loaded this folder.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { DeliveryAck, LogSink, OutgoingCycle } from '../engine/index.js';
import type { ReplicaVmDefinition } from '../protocol/index.js';
import { writeFileAtomic } from '../replica/atomic-file.js';
import { AgentError } from './errors.js';

export const EXPORT_DEFINITION_FILE = 'replica-vm.json';
export const EXPORT_MANIFEST_FILE = 'export.json';

export interface ExportManifest {
  FormatVersion: 1;
  VMName: string;
  VMId: string;
  PrimaryServerName: string;
  Generation: number;
  Sequence: number;
  /** Log files, one per disk, relative to the export folder. */
  Logs: string[];
  CreatedAt: string;
}

export function exportFolder(destination: string, definition: ReplicaVmDefinition): string {
  return join(destination, `${definition.VMName}_${definition.VMId}`);
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class ExportSink implements LogSink {
  constructor(
    private readonly folder: string,
    private readonly definition: ReplicaVmDefinition,
    private readonly primaryServerName: string,
  ) {}

  async deliver(cycle: OutgoingCycle, signal?: AbortSignal): Promise<DeliveryAck> {
    if (cycle.sequence !== 0) throw new AgentError('ERR_INVALID_STATE', 'only an initial replication (a full copy) can be exported');
    await mkdir(this.folder, { recursive: true });
    if ((await readdir(this.folder)).length > 0) {
      throw new AgentError('ERR_INVALID_STATE', `${this.folder} is not empty; export into an empty folder (an older export would be mixed with this one)`);
    }
    let logBytes = 0;
    const logs: string[] = [];
    for (const log of cycle.logs) {
      const name = `${log.diskId}.hvrlog`;
      const path = join(this.folder, name);
      const count = async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          logBytes += chunk.length;
          yield chunk;
        }
      };
      await pipeline(log.encode(), count, createWriteStream(path), ...(signal ? [{ signal }] : []));
      await fsyncFile(path);
      logs.push(name);
    }
    await writeFileAtomic(join(this.folder, EXPORT_DEFINITION_FILE), `${JSON.stringify(this.definition, null, 2)}\n`);
    const manifest: ExportManifest = {
      FormatVersion: 1,
      VMName: this.definition.VMName,
      VMId: this.definition.VMId,
      PrimaryServerName: this.primaryServerName,
      Generation: cycle.generation,
      Sequence: cycle.sequence,
      Logs: logs,
      CreatedAt: new Date().toISOString(),
    };
    // Written last: an export without its manifest is incomplete and import refuses it.
    await writeFileAtomic(join(this.folder, EXPORT_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    return { generation: cycle.generation, sequence: cycle.sequence, logBytes };
  }
}
