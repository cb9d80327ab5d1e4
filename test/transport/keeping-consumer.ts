/**
 * A LogConsumer for transport tests: keeps each verified log as a file and enforces the per-disk order,
 * so that the wire (resume, corruption, authorization) is tested without the VHDX engine. The server's
 * real consumer is ReplicaVms over VHDX replica storage (test/e2e covers it end to end).
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ReplicationPosition, type ReplicaVmDefinition } from '../../src/protocol/index.js';
import { logFileName, ReplicaError, type DefineResult, type LogConsumer, type VerifiedLog } from '../../src/replica/index.js';
import { readJsonFile, writeFileAtomic } from '../../src/replica/atomic-file.js';

export class KeepingConsumer implements LogConsumer {
  static keptPath(vmDir: string, diskId: string, generation: number, sequence: number): string {
    return join(vmDir, 'incoming', diskId, logFileName(generation, sequence));
  }

  async position(vmDir: string, diskId: string): Promise<ReplicationPosition> {
    const record = await readJsonFile<{ generation: number; sequence: number }>(join(vmDir, 'incoming', diskId, 'position.json'));
    return record ? new ReplicationPosition(record.generation, record.sequence) : ReplicationPosition.ZERO;
  }

  async consume(vmDir: string, log: VerifiedLog): Promise<void> {
    const current = await this.position(vmDir, log.diskId);
    if (!current.acceptsLog(log.generation, log.sequence)) {
      throw new ReplicaError('ERR_INVALID_STATE', `log ${log.generation}/${log.sequence} does not follow the replica's position ${current.generation}/${current.sequence}`);
    }
    await mkdir(join(vmDir, 'incoming', log.diskId), { recursive: true });
    await copyFile(log.path, KeepingConsumer.keptPath(vmDir, log.diskId, log.generation, log.sequence));
    await writeFileAtomic(join(vmDir, 'incoming', log.diskId, 'position.json'), JSON.stringify({ generation: log.generation, sequence: log.sequence }));
  }

  async define(_vmDir: string, definition: ReplicaVmDefinition): Promise<DefineResult> {
    return { VMId: definition.VMId, Created: false, Position: null, ReferencePoint: '' };
  }
}
