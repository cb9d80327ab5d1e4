// Runs inside Windows node.exe under Wine (started by wine-cert-store.test.ts, not by node:test): the
// win32 build's system certificate store. Imports the PFX named by HVR_WINE_PFX into CurrentUser\My,
// finds it by thumbprint, hands it to node's TLS and completes a mutual TLS 1.3 handshake with it, and
// records each outcome as JSON in the file named by argv[2].
import { readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { NativeError } from '../../src/native/native-error.js';
import { FileCertificateStore } from '../../src/security/certificate-store.js';
import { tlsOptions } from '../../src/security/credential.js';
import { SystemCertificateStore } from '../../src/security/system-certificate-store.js';

const outcome: Record<string, unknown> = { platform: process.platform };

async function capture(name: string, run: () => Promise<unknown>): Promise<void> {
  try {
    outcome[name] = { ok: await run() };
  } catch (error) {
    const e = error as NativeError & { code?: string };
    outcome[name] = { error: { code: e.code, message: e.message, errno: e instanceof NativeError ? e.errno : undefined } };
  }
}

try {
  const pfx = readFileSync(process.env.HVR_WINE_PFX!);
  const caPem = readFileSync(process.env.HVR_WINE_CA!, 'utf8');
  const store = new SystemCertificateStore('CurrentUser', 'My');
  await capture('wrongPassword', () => store.importPfx(pfx, 'not the password'));
  const imported = await store.importPfx(pfx, process.env.HVR_WINE_PFX_PASSWORD!);
  outcome.imported = imported.map((c) => c.Thumbprint);
  const thumbprint = imported[0]!.Thumbprint;
  outcome.listed = (await store.list()).map((c) => c.Thumbprint).includes(thumbprint);
  await capture('unknown', () => store.credential('00'.repeat(20), []));
  // The file store falls back to the system store for a thumbprint it does not hold.
  const files = new FileCertificateStore(process.argv[3]!, store);
  const credential = await files.credential(thumbprint.toLowerCase());
  outcome.credential = { thumbprint: credential.thumbprint, dnsNames: credential.dnsNames, kind: credential.material.kind };
  // The exported key is usable: a TLS 1.3 handshake where both ends present it.
  const options = { ...tlsOptions(credential), ca: [caPem] };
  const server = createServer({ ...options, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (socket) => socket.end('ok'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client: TLSSocket = connect({ ...options, host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername: credential.dnsNames[0]!, minVersion: 'TLSv1.3' });
  const [reply] = (await once(client, 'data')) as [Buffer];
  outcome.handshake = { protocol: client.getProtocol(), reply: reply.toString(), peer: client.getPeerX509Certificate()?.fingerprint.replaceAll(':', '') };
  client.destroy();
  server.close();
} catch (error) {
  outcome.failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
writeFileSync(process.argv[2] ?? 'wine-cert-store.json', JSON.stringify(outcome));
