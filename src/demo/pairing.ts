/**
 * Two hosts' state directories paired the way docs/certificates.md describes for a workgroup: one CA,
 * a certificate per host (the replica's also names localhost so a loopback demo can reach it), each
 * host trusting the CA, the replica server enabled with an authorization entry for the primary. The
 * same steps as `cert new-ca`, `cert new --import`, `cert trust`, `server set` and `auth add`.
 */
import { join } from 'node:path';
import { addEntry, applyServerChanges, makeEntry, ReplicaConfigStore } from '../replica/index.js';
import { createCertificateAuthority, createHostCertificate, FileCertificateStore, type PemPair } from '../security/index.js';

export interface PairingOptions {
  primaryStateDir: string;
  replicaStateDir: string;
  /** Where the replica server keeps the primary's replicas (the entry's ReplicaStorageLocation). */
  storageLocation: string;
  port: number;
  primaryName: string;
  replicaName: string;
  trustGroup: string;
}

export interface Pairing {
  /** The CA both hosts trust (tests sign more host certificates with it). */
  ca: PemPair;
  primaryThumbprint: string;
  replicaThumbprint: string;
  /** The name the primary connects to: the replica's certificate carries it. */
  replicaServerName: string;
}

export async function hostCertificate(stateDir: string, ca: { certificatePem: string; privateKeyPem: string }, names: string[]): Promise<string> {
  const store = new FileCertificateStore(stateDir);
  const pair = await createHostCertificate(ca, names);
  const stored = await store.importPem(pair.certificatePem, pair.privateKeyPem);
  await store.trustRoot(ca.certificatePem);
  return stored.Thumbprint;
}

export async function pairHosts(options: PairingOptions): Promise<Pairing> {
  const ca = await createCertificateAuthority(`hvreplica ${options.trustGroup} CA`);
  const replicaThumbprint = await hostCertificate(options.replicaStateDir, ca, [options.replicaName, 'localhost']);
  const primaryThumbprint = await hostCertificate(options.primaryStateDir, ca, [options.primaryName]);
  await new ReplicaConfigStore(options.replicaStateDir).update((config) => {
    const enabled = applyServerChanges(config, {
      ReplicationEnabled: true,
      AllowedAuthenticationType: 'Certificate',
      CertificateThumbprint: replicaThumbprint,
      CertificateAuthenticationPort: options.port,
    });
    const entry = makeEntry(options.primaryName, join(options.storageLocation), options.trustGroup);
    return { config: { ...enabled, AuthorizationEntries: addEntry(enabled.AuthorizationEntries, entry) }, result: undefined };
  });
  return { ca, primaryThumbprint, replicaThumbprint, replicaServerName: 'localhost' };
}
