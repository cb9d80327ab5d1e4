/**
 * An upload the test makes into the replica server of TwoHosts, as the primary's would be, with a body the
 * test feeds (slowly, or not at all: a primary that stalls), and what must be left once the replica's
 * folder was deleted. For the tests of what the replica does while a log arrives (removal, failover).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { endpointOf } from '../../src/agent/replicate-vm.js';
import { diskLogId } from '../../src/engine/ids.js';
import { RelationshipStore } from '../../src/relationship/index.js';
import { uploadMarksDir } from '../../src/replica/upload-marks.js';
import { FileCertificateStore } from '../../src/security/index.js';
import { ReplicaClient } from '../../src/transport/http2-client.js';
import { makeLog } from '../transport/fixtures.js';
import { MiB, type TwoHosts } from '../e2e/harness.js';

/** Every file under `dir` (recursively), by path. */
export async function files(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true }).catch(() => [] as string[])).map((name) => join(dir, name));
}

/** An upload of the primary's next cycle of vm1 whose body the test feeds; resolves with how it ended. */
export async function openUpload(hosts: TwoHosts): Promise<{ body: Readable; log: Buffer; ended: Promise<unknown>; client: ReplicaClient }> {
  const rel = (await new RelationshipStore(hosts.primaryState).get(hosts.vmId))!;
  const credential = await new FileCertificateStore(hosts.primaryState).credential(hosts.pairing.primaryThumbprint);
  const client = await ReplicaClient.connect(endpointOf(rel), credential);
  const diskId = diskLogId(hosts.vmId, (await hosts.host.getVm(hosts.vmId)).disks[0]!.id);
  const key = { vmId: hosts.vmId, diskId, generation: 1, sequence: 1 };
  const log = await makeLog(key, randomBytes(4 * MiB));
  const body = new Readable({ read() {} });
  const ended = client.put(key, { offset: 0, uploadId: 'ef'.repeat(16) }, body).then(
    (status) => status,
    (error: unknown) => error,
  );
  return { body, log, ended, client };
}

/** Sends the log from `from` on, a piece every few milliseconds, stopping short of its end (which never comes). */
export function feed(upload: { body: Readable; log: Buffer }, from: number): { timer: NodeJS.Timeout; sent: () => number } {
  const piece = 64 * 1024;
  let sent = from;
  const timer = setInterval(() => {
    if (sent + piece >= upload.log.length) return;
    upload.body.push(upload.log.subarray(sent, sent + piece));
    sent += piece;
  }, 20);
  return { timer, sent: () => sent };
}

/** Until the server holds a partial file of the upload (it is writing into the replica's folder). */
export async function partialWritten(hosts: TwoHosts): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if ((await files(join(hosts.replicaDir, 'uploads'))).some((f) => f.endsWith('.partial'))) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail('the server never wrote the upload\'s partial file');
}

/** Nothing of the replica's folder, its uploads or their marks is left in the storage location. */
export async function nothingLeft(hosts: TwoHosts): Promise<void> {
  assert.ok(!existsSync(hosts.replicaDir), 'the replica storage folder is gone');
  assert.ok(!existsSync(uploadMarksDir(hosts.replicaDir)), 'no upload is marked any more');
  assert.deepEqual((await files(hosts.storageLocation)).filter((f) => /\.partial/.test(f)), [], 'no partial log is left');
}
