/**
 * Who is on the other end of a TLS connection: whether its certificate chains to a root this host
 * trusts, the DNS names it carries, and whether it may act as a client (Client Authentication usage).
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { dnsNamesOf, OID_CLIENT_AUTH, thumbprintOf } from '../security/index.js';

export type PeerIdentity =
  | { verified: true; dnsNames: string[]; thumbprint: string }
  | { verified: false; reason: string };

export function identifyPeer(socket: TLSSocket): PeerIdentity {
  const peer = socket.getPeerCertificate(false) as { raw?: Buffer } | null;
  if (!peer || !peer.raw) return { verified: false, reason: 'no client certificate was presented' };
  if (!socket.authorized) {
    return { verified: false, reason: `the client certificate is not trusted here (${String(socket.authorizationError)}); trust its CA with "hvreplica cert trust"` };
  }
  const cert = new X509Certificate(peer.raw);
  const usages = cert.keyUsage;
  if (usages && usages.length > 0 && !usages.includes(OID_CLIENT_AUTH)) {
    return { verified: false, reason: 'the client certificate lacks the Client Authentication usage' };
  }
  return { verified: true, dnsNames: dnsNamesOf(cert), thumbprint: thumbprintOf(cert) };
}
