import { CliError } from '../../cli-error.js';
import { ExitCode } from '../../exit-codes.js';
import type { CommandResult } from '../../output.js';
import { isDnsName } from '../../../replica/index.js';
import { FileCertificateStore } from '../../../security/index.js';
import { testReplicationConnection } from '../../../transport/index.js';
import type { ConnectionTestArgs } from './command.js';

export async function connectionTest(args: ConnectionTestArgs): Promise<CommandResult> {
  const name = args['replica-server-name'].trim();
  const port = args['replica-server-port'];
  if (!isDnsName(name)) throw new CliError('ERR_INVALID_ARGUMENT', `ReplicaServerName "${name}" must be a DNS host name; IP addresses are not accepted because certificates name hosts`, ExitCode.Usage);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CliError('ERR_INVALID_ARGUMENT', 'ReplicaServerPort must be from 1 to 65535', ExitCode.Usage);
  const thumbprint = args['certificate-thumbprint'];
  if (args['authentication-type'] === 'Kerberos') {
    if (thumbprint !== undefined) throw new CliError('ERR_INVALID_ARGUMENT', 'CertificateThumbprint cannot be given with Kerberos authentication', ExitCode.Usage);
    throw new CliError('ERR_NOT_SUPPORTED', 'Kerberos authentication is not available: hvreplica always uses TLS 1.3 with mutual certificates; use Certificate', ExitCode.NotSupported);
  }
  if (thumbprint === undefined) throw new CliError('ERR_INVALID_ARGUMENT', 'Certificate authentication needs --certificate-thumbprint ("cert list" shows them)', ExitCode.Usage);
  const credential = await new FileCertificateStore(args['state-dir']).credential(thumbprint);
  const hello = await testReplicationConnection(
    { serverName: name, port, ...(args['replica-server-address'] !== undefined ? { address: args['replica-server-address'] } : {}) },
    credential,
    { connectTimeoutMs: args['timeout-sec'] * 1000 },
  );
  return {
    data: {
      ReplicaServerName: name,
      ReplicaServerPort: port,
      AuthenticationType: 'Certificate',
      PrimaryServerName: hello.PrimaryServerName,
      TrustGroup: hello.TrustGroup,
      ProtocolVersion: hello.ProtocolVersion,
    },
    human: 'The connection to the specified Replica server with the specified parameters was successful.',
  };
}
