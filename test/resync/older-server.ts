/**
 * A replica server of the resync suites that answers as an older version did: the real server, wired as
 * `hvreplica server run` wires it (log receiver, content service over the same open replicas), with the
 * content routes passed through a handler the test builds to stand for the older server.
 */
import { DEFAULT_MAX_LOG_BYTES } from '../../src/cli/commands/server/command.js';
import {
  ReplicaConfigStore,
  ReplicaContentService,
  ReplicaRecords,
  ReplicaService,
  ReplicaVms,
  VmRegistry,
  type ReplicaContentHandler,
  type ReplicaContentOptions,
} from '../../src/replica/index.js';
import { FileCertificateStore } from '../../src/security/index.js';
import { ReplicaHttpServer } from '../../src/transport/index.js';

export interface OlderServer {
  stop(): Promise<void>;
}

/** The replica server of `stateDir` on its configured port, its content routes answered by `older(content)`. */
export async function olderReplicaServer(
  stateDir: string,
  older: (content: ReplicaContentService) => ReplicaContentHandler,
  options: ReplicaContentOptions = {},
): Promise<OlderServer> {
  const config = await new ReplicaConfigStore(stateDir).load();
  const credential = await new FileCertificateStore(stateDir).credential(config.CertificateThumbprint!);
  const records = new ReplicaRecords({ stateDir, serverName: credential.dnsNames[0]! });
  const replicas = new ReplicaVms({ sealIntervalMs: 1, records });
  await replicas.openExisting((await new VmRegistry(stateDir).list()).map((vm) => vm.Path));
  const handler = new ReplicaService(stateDir, replicas, { maxLogBytes: DEFAULT_MAX_LOG_BYTES, records });
  const content = new ReplicaContentService(stateDir, replicas, options);
  const server = new ReplicaHttpServer({ credential, handler, content: older(content) });
  await server.listen(config.CertificateAuthenticationPort);
  return {
    async stop(): Promise<void> {
      await server.close();
      // What `server run`'s sweep does: every acknowledged cycle applied before the storage is read.
      await replicas.applyAll();
      await content.close();
    },
  };
}
