/**
 * Two hosts on loopback: a CA, a replica and primaries with real certificates, a replica state
 * directory configured through the same store the CLI uses, and a running replica server.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { configureLogging } from '../../src/logging/logger.js';
import { addEntry, applyServerChanges, makeEntry, ReplicaConfigStore, ReplicaService } from '../../src/replica/index.js';
import { KeepingConsumer } from './keeping-consumer.js';
import { createCertificateAuthority, createHostCertificate, credentialFromPem, FileCertificateStore, type HostCredential, type PemPair } from '../../src/security/index.js';
import { ReplicaHttpServer } from '../../src/transport/index.js';
import { encodeLog, type LogHeaderInput, type RecordHashAlgorithm } from '../../src/protocol/index.js';
import type { LogKey } from '../../src/replica/index.js';

configureLogging({ quietConsole: true });

export const REPLICA_NAME = 'replica.hvr.test';
export const PRIMARY_NAME = 'primary.hvr.test';

export interface Pki {
  ca: PemPair;
  replica: HostCredential;
  primary: HostCredential;
  /** Trusted CA, but a name no entry matches. */
  stranger: HostCredential;
  /** Another tenant, authorized under a different trust group. */
  tenantB: HostCredential;
  /** A certificate from a CA the replica does not trust, with the authorized name. */
  rogue: HostCredential;
}

let pkiPromise: Promise<Pki> | undefined;

export function pki(): Promise<Pki> {
  pkiPromise ??= (async () => {
    const ca = await createCertificateAuthority('hvreplica test CA');
    const otherCa = await createCertificateAuthority('someone else');
    const host = async (authority: PemPair, names: string[], trusted: PemPair = ca) => {
      const pair = await createHostCertificate(authority, names);
      return credentialFromPem(pair.certificatePem, pair.privateKeyPem, [trusted.certificatePem]);
    };
    return {
      ca,
      replica: await host(ca, [REPLICA_NAME, 'localhost']),
      primary: await host(ca, [PRIMARY_NAME]),
      stranger: await host(ca, ['stranger.elsewhere.test']),
      tenantB: await host(ca, ['hv1.tenant-b.test']),
      rogue: await host(otherCa, [PRIMARY_NAME]),
    };
  })();
  return pkiPromise;
}

export interface ReplicaHost {
  stateDir: string;
  storageDir: string;
  server: ReplicaHttpServer;
  port: number;
  close(): Promise<void>;
}

export interface StartReplicaOptions {
  requestsPerSecond?: number;
  now?: () => number;
  /** The server's idle limit per stream and session. */
  idleTimeoutMs?: number;
  /** Added before each log is stored, as a slow disk or a long apply would. */
  consumeDelayMs?: number;
  /** What the hello asks primaries to write logs with (default: what this CPU computes fast). */
  logRecordHashes?: readonly RecordHashAlgorithm[];
}

export async function startReplica(options: StartReplicaOptions = {}): Promise<ReplicaHost> {
  const { replica, ca } = await pki();
  const root = await mkdtemp(join(tmpdir(), 'hvr-replica-'));
  const stateDir = join(root, 'state');
  const storageDir = join(root, 'storage');
  const certs = new FileCertificateStore(stateDir);
  await certs.trustRoot(ca.certificatePem);
  const material = replica.material as { certificatePem: string; privateKeyPem: string };
  const stored = await certs.importPem(material.certificatePem, material.privateKeyPem);
  await new ReplicaConfigStore(stateDir).update((config) => {
    let next = applyServerChanges(config, { ReplicationEnabled: true, AllowedAuthenticationType: 'Certificate', CertificateThumbprint: stored.Thumbprint });
    next = { ...next, AuthorizationEntries: addEntry(next.AuthorizationEntries, makeEntry(PRIMARY_NAME, join(storageDir, 'a'), 'tenant-a')) };
    next = { ...next, AuthorizationEntries: addEntry(next.AuthorizationEntries, makeEntry('*.tenant-b.test', join(storageDir, 'b'), 'tenant-b')) };
    return { config: next, result: undefined };
  });
  const credential = await certs.credential(stored.Thumbprint);
  const consumer = new KeepingConsumer();
  const delay = options.consumeDelayMs;
  if (delay !== undefined) {
    const keep = consumer.consume.bind(consumer);
    consumer.consume = async (vmDir, log) => {
      await sleep(delay);
      return keep(vmDir, log);
    };
  }
  const handler = new ReplicaService(stateDir, consumer, { maxLogBytes: 256 * 1024 * 1024 });
  const server = new ReplicaHttpServer({
    credential,
    handler,
    requestsPerSecond: options.requestsPerSecond ?? 1000,
    ...(options.now ? { now: options.now } : {}),
    ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
    ...(options.logRecordHashes ? { logRecordHashes: options.logRecordHashes } : {}),
  });
  const address = await server.listen(0, '127.0.0.1');
  return {
    stateDir,
    storageDir,
    server,
    port: address.port,
    close: async () => {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A delta log of one data record at offset 0 (base ref-<seq-1>, new ref-<seq>), as the primary encodes it. */
export async function makeLog(key: LogKey, data: Buffer): Promise<Buffer> {
  const header: LogHeaderInput = {
    vmId: key.vmId,
    diskId: key.diskId,
    generation: key.generation,
    sequence: key.sequence,
    baseReferencePoint: `ref-${key.sequence - 1}`,
    newReferencePoint: `ref-${key.sequence}`,
    virtualSize: 256 * 1024 * 1024,
    logicalSectorSize: 512,
    consistency: 'crash',
  };
  const chunks: Buffer[] = [];
  for await (const chunk of encodeLog(header, [{ type: 'data', offset: 0, data }])) chunks.push(chunk);
  return Buffer.concat(chunks);
}
