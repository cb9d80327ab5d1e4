import { uploadsStillRunning } from '../replica/upload-marks.js';
import { FailoverError } from './errors.js';
import type { FailoverRecord } from './record.js';

/**
 * The replica server's uploads of the VM that began before its failover end before the completion deletes
 * the replica's folder (src/replica/upload-marks.ts): on Windows a partial log the server holds open cannot be
 * deleted, and anywhere an upload still writing would leave it behind. The server refuses every upload of a
 * failed-over VM at its start and ends those that were streaming within a second (refusal-watch.ts), so this
 * waits only for that, or for an upload whose primary stopped sending (the server's idle timeout). Past the
 * wait nothing is changed (`unchanged` says what stays as it is) and the command can be run again.
 */
export async function uploadsEnded(record: FailoverRecord, storage: string, waitMs: number, unchanged: string): Promise<void> {
  const running = await uploadsStillRunning(storage, waitMs);
  if (running === undefined) return;
  throw new FailoverError(
    'ERR_BUSY',
    `the replica server is still receiving ${running.count} of VM '${record.vmName}' that began before its failover: ${running.which}. ` +
      `Nothing was changed: ${unchanged}, and the server refuses the upload. ` +
      `Run Complete-HvrVMFailover again (hvreplica failover complete --vm-name ${record.vmName}); if it still waits, restart the replica server`,
  );
}
