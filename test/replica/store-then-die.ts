/**
 * Child process of ack-before-apply.test.ts: hands the given logs to the replica server's LogConsumer
 * (ReplicaVms) and is killed (SIGKILL) the moment the last one is acknowledged, before the background
 * apply could write anything: the state a replica server killed between its answer and the apply leaves.
 *   node store-then-die.js <vmDir> <log file>...
 */
import { createReadStream } from 'node:fs';
import { configureLogging } from '../../src/logging/logger.js';
import { verifyLog } from '../../src/protocol/index.js';
import { ReplicaVms } from '../../src/replica/index.js';

configureLogging({ quietConsole: true });
const [vmDir, ...logs] = process.argv.slice(2);
const replicas = new ReplicaVms();
for (const path of logs) {
  const summary = await verifyLog(createReadStream(path));
  const { vmId, diskId, generation, sequence } = summary.header;
  await replicas.consume(vmDir!, { vmId, diskId, generation, sequence, path, summary, primaryServerName: 'primary.test' });
}
// Acknowledged: no turn of the event loop from here, so the apply's first disk I/O never completes.
process.kill(process.pid, 'SIGKILL');
