/**
 * `replication remove` on a replica host selecting several relationships (Remove-VMReplication acts on every
 * VM the name selects): each removal on the replica is final, so one that is refused part-way is warned
 * about and the others still go, and the result says which went; an exact name that names a replica VM and
 * a primary relationship of this host alike removes both.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { enableReplication, replicateOnce } from '../../src/failover/replication.js';
import { createCertificateAuthority, createHostCertificate, FileCertificateStore } from '../../src/security/index.js';
import { guestWrites, newVm, world, type FileSite } from '../failover/helpers.js';
import { cli, ok } from './helpers.js';

async function replicated(primary: FileSite, replica: FileSite, name: string, seed: number): Promise<string> {
  const vm = await newVm(primary, name);
  await enableReplication(primary, replica, vm);
  await guestWrites(primary, vm, seed);
  await replicateOnce(primary, replica, vm);
  return vm;
}

const rows = (result: Record<string, unknown>[]) => result.map((r) => [r.VMName, r.ReplicationMode]).sort();

it('replication remove on a replica host: refused ones are warned about and the rest go; an exact name removes every relationship of that name', async () => {
  const w = world('fcli-remove-sel');
  try {
    const { a, b, c } = w;
    // web01 from a: its initial replication never ran, so its removal keeps no VM (the file host of b could
    // not hold a second VM named web01; Hyper-V could).
    await enableReplication(a, b, await newVm(a, 'web01'));
    const web02 = await replicated(a, b, 'web02', 82);
    await replicated(a, b, 'web03', 83);
    // b also replicates a VM of its own named web01 (to c): a primary relationship of the same name.
    await newVm(b, 'web01');
    const ca = await createCertificateAuthority('test CA');
    const cert = await createHostCertificate(ca, [b.name]);
    const thumb = (await new FileCertificateStore(b.options.stateDir).importPem(cert.certificatePem, cert.privateKeyPem)).Thumbprint;
    ok(b, 'replication', 'enable', '--vm-name=web01', `--replica-server-name=${c.name}`, '--replica-server-port=443', '--authentication-type=Certificate', `--certificate-thumbprint=${thumb}`);
    // web02's kept-VM folder still holds the VM an earlier removal kept: its removal is refused (ERR_ALREADY_EXISTS).
    const keptFolder = b.keptReplicaFolder(web02);
    await mkdir(keptFolder, { recursive: true });
    await writeFile(join(keptFolder, 'kept.json'), JSON.stringify({ VMId: web02, HostVmId: web02, RegisteredAt: null, RemovedAt: '2026-01-01T00:00:00.000Z', PointId: 'p', KeptAt: '2026-01-01T00:00:00.000Z' }));

    assert.deepEqual(rows(ok(b, 'replication', 'remove', '--vm-name=web01')), [['web01', 'Primary'], ['web01', 'Replica']], 'both relationships named web01');

    const partWay = cli(b, 'replication', 'remove', '--vm-name=web0*');
    assert.equal(partWay.status, 0, partWay.stdout + partWay.stderr);
    assert.deepEqual(rows(partWay.json!.result as Record<string, unknown>[]), [['web03', 'Replica']], 'the result says which went');
    assert.match(partWay.stderr, /replication of VM 'web02' was not removed: .*kept by an earlier removal/);
    assert.deepEqual(rows(ok(b, 'replication', 'get', '--vm-name=*')), [['web02', 'Replica']], 'only the refused one is left');
  } finally {
    w.cleanup();
  }
});
