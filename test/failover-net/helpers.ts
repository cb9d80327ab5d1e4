/**
 * Failover of VMs replicated over the network: the real `hvreplica server run` (test/e2e/harness.ts
 * TwoHosts) and the real CLI on both hosts, content compared by SHA-256 with what the primary held.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashDisk } from '../../src/demo/content-hash.js';
import { FileHost } from '../../src/host/file/file-host.js';
import { openDisk } from '../../src/vhdx/index.js';
import { hostCertificate } from '../../src/demo/pairing.js';
import { freePort } from '../../src/demo/server-process.js';
import { runWorkload } from '../../src/host/file/workload.js';
import { cli, MiB, type CliResult, type TwoHosts } from '../e2e/harness.js';

export type Side = 'primary' | 'replica';

/** `hvreplica <args> --json` against one host's state directory. */
export function on(hosts: TwoHosts, side: Side, ...args: string[]): Promise<CliResult> {
  return cli([...args, `--state-dir=${side === 'primary' ? hosts.primaryState : hosts.replicaState}`]);
}

/** A command that must succeed; its result array. */
export async function ok(hosts: TwoHosts, side: Side, ...args: string[]): Promise<Array<Record<string, unknown>>> {
  const run = await on(hosts, side, ...args);
  assert.equal(run.code, 0, `${side}: ${args.join(' ')} failed: ${JSON.stringify(run.json)}\n${run.stderr}`);
  return run.json.result as Array<Record<string, unknown>>;
}

/** A command that must be refused with `exit` and `code`; its message. */
export async function refused(hosts: TwoHosts, side: Side, exit: number, code: string, ...args: string[]): Promise<string> {
  const run = await on(hosts, side, ...args);
  assert.equal(run.code, exit, `${side}: ${args.join(' ')}: expected exit ${exit}: ${JSON.stringify(run.json)}`);
  assert.equal(run.json.error?.code, code, JSON.stringify(run.json));
  return run.json.error!.message;
}

/** The replica's recovery points as stored (state.json, read without opening the storage the server uses). */
export async function pointReferences(hosts: TwoHosts): Promise<Map<string, string>> {
  const state = JSON.parse(await readFile(join(hosts.replicaDir, 'state.json'), 'utf8')) as { layers: Array<{ point?: { id: string; referencePoint: string } }> };
  return new Map(state.layers.flatMap((l) => (l.point ? [[l.point.id, l.point.referencePoint] as [string, string]] : [])));
}

/** SHA-256 of each disk of a VM of a host's file host (the primary's VM, a failed-over or test VM). */
export async function vmHashes(stateDir: string, vm: string): Promise<string[]> {
  const host = new FileHost({ root: join(stateDir, 'vms') });
  const out: string[] = [];
  for (const disk of (await host.getVm(vm)).disks) out.push(await hashDisk(await openDisk(disk.currentPath), disk.virtualSize));
  return out;
}

/** One cycle through `hvreplica replicate` that must succeed. */
export async function cycle(hosts: TwoHosts): Promise<NonNullable<Awaited<ReturnType<TwoHosts['replicate']>>['cycle']>> {
  const run = await hosts.replicate();
  assert.equal(run.code, 0, `replicate failed: ${JSON.stringify(run.json)}\n${run.stderr}\nserver:\n${hosts.server?.stderr.slice(-3000) ?? ''}`);
  return run.cycle!;
}

/** A planned failover of vm1 to the replica host after one cycle of the changes `seed` writes (the primary's VM is left off). */
export async function plannedFailover(hosts: TwoHosts, seed: number): Promise<void> {
  await runWorkload(hosts.host, { vm: hosts.vmId, seed, maxBytes: 1 * MiB });
  await cycle(hosts);
  await hosts.host.stopVm(hosts.vmId);
  await ok(hosts, 'primary', 'failover', 'start', '--vm-name=vm1', '--prepare');
  await ok(hosts, 'replica', 'failover', 'start', '--vm-name=vm1');
}

/**
 * The old primary's replica server, enabled and admitting the failed-over host (replica.e2e.test) into
 * `<root>/storage-a`, so that it can be made that host's replica: its port and storage location.
 */
export async function oldPrimaryReplicaServer(hosts: TwoHosts): Promise<{ port: number; storage: string }> {
  const port = await freePort();
  const certificate = await hostCertificate(hosts.primaryState, hosts.pairing.ca, ['primary.e2e.test', 'localhost']);
  await ok(hosts, 'primary', 'server', 'set', '--replication-enabled=true', '--allowed-authentication-type=Certificate', `--certificate-thumbprint=${certificate}`, `--certificate-authentication-port=${port}`);
  const storage = join(hosts.root, 'storage-a');
  await ok(hosts, 'primary', 'auth', 'add', '--allowed-primary-server=replica.e2e.test', `--replica-storage-location=${storage}`, '--trust-group=e2e');
  return { port, storage };
}
