/**
 * `hvreplica server run`: the replica server in the foreground until SIGINT/SIGTERM. Verified logs go
 * to each VM's VHDX replica storage, which applies them and seals recovery points; a timer retries
 * applies that failed (a full volume) and seals hourly points while no logs arrive.
 */
import { hostname } from 'node:os';
import { logger } from '../../../logging/logger.js';
import { ReplicaConfigStore, ReplicaContentService, ReplicaError, ReplicaRecords, ReplicaService, ReplicaVms, VmRegistry } from '../../../replica/index.js';
import { FileCertificateStore, type HostCredential } from '../../../security/index.js';
import { ReplicaHttpServer } from '../../../transport/index.js';
import { manifestBlockSize } from '../../../transport/manifest-wire.js';
import { HASH_SYNC_BLOCK_SIZE, HASH_SYNC_MAX_BLOCKS } from '../../../agent/hash-sync.js';
import { DEFAULT_HASH_ALGORITHM, PREFERRED_SYNC_ALGORITHMS } from '../../../tracking/hash/hash-algorithm.js';
import { algorithmsWorthUsingHere } from '../../../tracking/hash/block-digest.js';
import type { CommandResult } from '../../output.js';
import type { ServerRunArgs } from './command.js';
import { clearRuntime, writeRuntime } from './runtime-file.js';
import { identityOfThisProcess } from '../../../util/holder-file.js';
import { dropMarksOfEarlierServers } from '../../../replica/upload-marks.js';
import { claimServerInstance } from '../../../replica/server-instance.js';
import { stopRequested } from '../../stop-request.js';

const log = logger('server');

export async function serverRun(args: ServerRunArgs): Promise<CommandResult> {
  const stateDir = args['state-dir'];
  const config = await new ReplicaConfigStore(stateDir).load();
  if (!config.ReplicationEnabled || config.CertificateThumbprint === null) {
    throw new ReplicaError(
      'ERR_INVALID_STATE',
      'replication is not enabled on this host; run "hvreplica server set --replication-enabled=true --allowed-authentication-type Certificate --certificate-thumbprint <thumbprint>" first',
    );
  }
  if (!Number.isSafeInteger(args['max-log-bytes']) || args['max-log-bytes'] < 1024 * 1024) {
    throw new ReplicaError('ERR_INVALID_ARGUMENT', '--max-log-bytes must be at least 1 MiB');
  }
  const credential = await new FileCertificateStore(stateDir).credential(config.CertificateThumbprint);
  if (credential.trustedRoots.length === 0) {
    throw new ReplicaError('ERR_INVALID_STATE', 'no trusted root certificates: primaries could not authenticate; add the CA that signs them with "hvreplica cert trust"');
  }
  const interval = args['recovery-point-interval-sec'];
  if (!Number.isFinite(interval) || interval <= 0) throw new ReplicaError('ERR_INVALID_ARGUMENT', '--recovery-point-interval-sec must be a positive number of seconds');
  // Before anything is opened: a second server of this state directory would race this one over its replicas.
  const release = await claimServerInstance(stateDir);
  try {
    return await serve(args, stateDir, credential, interval, config.CertificateAuthenticationPort);
  } finally {
    await release();
  }
}

async function serve(args: ServerRunArgs, stateDir: string, credential: HostCredential, interval: number, port: number): Promise<CommandResult> {
  // The failover records of the VMs this server receives live in the same state directory the CLI uses.
  const records = new ReplicaRecords({ stateDir, serverName: credential.dnsNames[0] ?? hostname() });
  const replicas = new ReplicaVms({ sealIntervalMs: interval * 1000, records });
  const folders = (await new VmRegistry(stateDir).list()).map((vm) => vm.Path);
  await replicas.openExisting(folders);
  const handler = new ReplicaService(stateDir, replicas, { maxLogBytes: args['max-log-bytes'], records });
  // Listening for a stop before announcing the server: whoever starts it may stop it at once.
  const stopping = stopRequested();
  // Content and hash manifests of the same open replicas the logs go to (comparisons by hash).
  // Kept up to date in the background at the block size primaries compare at (src/agent/hash-sync.ts).
  // BLAKE3 is offered only where this CPU has a SIMD path for it: its portable code is slower than SHA-256,
  // and a primary asks for what the server offers. The manifest kept is of what a current primary asks for
  // (XXH3-128); an older primary's BLAKE3 or SHA-256 comparison hashes the replica in full, as before keeping.
  const hashAlgorithms = algorithmsWorthUsingHere();
  const keptAlgorithm = PREFERRED_SYNC_ALGORITHMS.find((algorithm) => hashAlgorithms.includes(algorithm)) ?? DEFAULT_HASH_ALGORITHM;
  const content = new ReplicaContentService(stateDir, replicas, {
    hashAlgorithms,
    keep: { blockSizeFor: (size) => manifestBlockSize(size, HASH_SYNC_BLOCK_SIZE, HASH_SYNC_MAX_BLOCKS), algorithm: keptAlgorithm },
  });
  const server = new ReplicaHttpServer({ credential, handler, content });
  const address = await server.listen(port, args['listen-address']);
  // This server holds the state directory (server-instance.ts): the upload marks left by one that crashed go
  // (a removal would wait for them in vain when their process id is another process's now).
  await dropMarksOfEarlierServers(folders);
  content.start();
  const startedAt = new Date().toISOString();
  await writeRuntime(stateDir, { ...identityOfThisProcess(), port: address.port, startedAt });
  log.info('replica server listening', { address: address.address, port: address.port, names: credential.dnsNames, thumbprint: credential.thumbprint });
  let sweeping: Promise<void> = Promise.resolve();
  const sweep = setInterval(() => {
    sweeping = sweeping.then(() => replicas.applyAll());
  }, Math.max(1000, Math.min(60_000, interval * 1000)));
  const signal = await stopping;
  log.info('stopping', { signal });
  clearInterval(sweep);
  await content.close();
  await server.close();
  // Cycles acknowledged just before the stop are applied before the process ends (else at the next start).
  await replicas.settled();
  await sweeping;
  await clearRuntime(stateDir);
  return { data: { ComputerName: hostname(), Port: address.port, StartedAt: startedAt, StoppedAt: new Date().toISOString() } };
}
