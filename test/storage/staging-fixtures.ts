/** The replica server's staging wiring in small, shared by the staged-apply and hollow-log tests. */
import { join } from 'node:path';
import type { LogConsumer } from '../../src/replica/index.js';
import { createVhdxReplicaStorage, type VhdxReplicaStorage } from '../../src/storage/vhdx-replica-storage.js';
import { tempDir } from '../helpers/paths.js';
import { DISKS, MiB, VM_ID } from './fixtures.js';

/** A new replica of DISKS (1 MiB blocks) in a temporary folder. */
export async function stagingSetup(name: string) {
  const dir = tempDir(name);
  const root = join(dir.path, VM_ID);
  const storage = await createVhdxReplicaStorage(root, { vmId: VM_ID, disks: DISKS, blockSize: MiB });
  return { dir, root, storage };
}

/** The receiver stages into and hands over to this storage, as ReplicaVms does. */
export function stagingConsumer(storage: VhdxReplicaStorage): LogConsumer {
  return {
    stage: async (_vmDir, header, resume) => storage.stage(header, resume),
    consume: async (_vmDir, log) => {
      await storage.receiveFile(log.path, log.summary.header, log.staged, log.hollow === true);
    },
  };
}
