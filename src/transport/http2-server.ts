/**
 * The replica server's listener: HTTP/2 over TLS 1.3 with mutual certificate authentication. Only the
 * liveness probe answers without a trusted client certificate; every other route needs one, and log
 * routes also need an authorization entry matching the certificate's DNS name. Requests are rate
 * limited per peer, paths are parsed into validated ids before anything else sees them, and upload
 * bodies are bounded by the declared length. What to do with a request is the ReplicaHandler's job.
 */
import http2, { type Http2SecureServer, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { logger } from '../logging/logger.js';
import { decodeReplicaVmDefinition, MAX_REPLICA_VM_BYTES, recordHashesWorthUsingHere, type RecordHashAlgorithm, type ReplicaVmDefinition } from '../protocol/index.js';
import { OffsetMismatchError, type LogIdentity, type PrimaryAuthorization, type ReplicaHandler } from '../replica/index.js';
import type { ReplicaContentHandler } from '../replica/replica-content.js';
import { tlsOptions, type HostCredential } from '../security/index.js';
import type { HashAlgorithm } from '../tracking/hash/hash-algorithm.js';
import { bodyChunks } from './body-chunks.js';
import { replicaServerMetrics, type MetricsRegistry } from './metrics.js';
import { identifyPeer } from './peer-identity.js';
import { destroySessionSoon, stopRequestBodySoon } from './session-teardown.js';
import { RateLimiter } from './rate-limiter.js';
import {
  HEADER_LOG_HASH,
  HEADER_OFFSET,
  HEADER_PROTOCOL,
  HEADER_TOTAL_LENGTH,
  HEADER_UPLOAD_ID,
  HEADER_RELATIONSHIP_ID,
  isRelationshipId,
  parseLogPath,
  parseVmPath,
  PATH_HEALTH,
  PATH_HELLO,
  PATH_METRICS,
  PROTOCOL_VERSION,
  statusForCode,
  type HelloResponse,
  type WireError,
} from './wire.js';
import {
  decodeRanges,
  DIGESTS_CONTENT_TYPE,
  HEADER_POSITION,
  HEADER_REFERENCE_POINT,
  MANIFEST_CONTENT_TYPE,
  MAX_DIGEST_REQUEST_BYTES,
  parseContentPath,
  type ContentRoute,
} from './manifest-wire.js';

const log = logger('replica-server');

/** What one upload stream may have in flight unread (HTTP/2 SETTINGS_INITIAL_WINDOW_SIZE). */
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
/** What all uploads of one session together may have in flight unread. */
export const SESSION_WINDOW_BYTES = 8 * 1024 * 1024;
// No SETTINGS_MAX_FRAME_SIZE is advertised: node 20's HTTP/2 (nghttp2, which node gives no read-length
// callback) sends 16 KiB DATA frames whatever the peer allows. Measured with the server advertising 1 MiB: the
// client still sent 16384-byte frames and the CPU of both sides did not change (bench/replication/README.md,
// "Wire CPU"). TLS records are at most 16 KiB of plaintext in any case.

function setSessionWindow(session: Http2Session): void {
  if (session.destroyed) return;
  try {
    session.setLocalWindowSize(SESSION_WINDOW_BYTES);
  } catch (error) {
    log.debug('cannot enlarge the session window', { error: (error as Error).message });
  }
}

export interface ReplicaServerOptions {
  credential: HostCredential;
  handler: ReplicaHandler;
  /** Requests per second per peer (default 50, burst 100). */
  requestsPerSecond?: number;
  /** Clock of the rate limiter (tests freeze it). */
  now?: () => number;
  /** An upload stream with no bytes for this long is cancelled (default 60 s). */
  idleTimeoutMs?: number;
  /** Concurrent streams per HTTP/2 session (default 32). */
  maxConcurrentStreams?: number;
  metrics?: MetricsRegistry;
  /** Serves what replicas hold (content, hash manifests, seeding from a copy); without it those routes are 404. */
  content?: ReplicaContentHandler;
  /**
   * Log record checksums the hello asks primaries for (default: those worth computing on this CPU). Logs of
   * every readable format are taken whatever this says; it only steers what primaries write.
   */
  logRecordHashes?: readonly RecordHashAlgorithm[];
}

class HttpError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class ReplicaHttpServer {
  readonly metrics: MetricsRegistry;
  private readonly server: Http2SecureServer;
  private readonly sessions = new Set<Http2Session>();
  /** Upload handlers still running: close() waits for them. */
  private readonly handling = new Set<Promise<void>>();
  private readonly limiter: RateLimiter;

  constructor(private readonly options: ReplicaServerOptions) {
    this.metrics = options.metrics ?? replicaServerMetrics();
    const rate = options.requestsPerSecond ?? 50;
    this.limiter = new RateLimiter({ ratePerSecond: rate, burst: rate * 2, ...(options.now ? { now: options.now } : {}) });
    this.server = http2.createSecureServer({
      ...tlsOptions(options.credential),
      minVersion: 'TLSv1.3',
      requestCert: true,
      // Verified per request instead, so that an anonymous liveness probe still gets its answer.
      rejectUnauthorized: false,
      allowHTTP1: false,
      maxSessionMemory: 16,
      maxHeaderListPairs: 64,
      settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 32, maxHeaderListSize: 16 * 1024, initialWindowSize: STREAM_WINDOW_BYTES },
    });
    this.server.on('session', (session: Http2Session) => {
      this.sessions.add(session);
      // HTTP/2's default windows (64 KiB per stream and per connection) let a primary send 64 KiB per
      // round trip of WINDOW_UPDATE frames, which capped uploads far below what the link and the disk
      // can take. What a session may have unread is still bounded: by this connection window.
      setSessionWindow(session);
      this.metrics.set('hvr_sessions', this.sessions.size);
      // A connection that sends nothing (a probe left open, a stalled peer) must not hold a slot forever.
      session.setTimeout(this.options.idleTimeoutMs ?? 60_000, () => session.close());
      session.on('close', () => {
        this.sessions.delete(session);
        this.metrics.set('hvr_sessions', this.sessions.size);
      });
      session.on('error', (error) => log.debug('session error', { error: error.message }));
    });
    this.server.on('stream', (stream, headers) => {
      // A primary that resets or loses its connection makes the stream emit an error, possibly after its
      // handler stopped listening (answered, or failed first): that must never take the server down. The
      // handler sees the failure through its own reads and writes.
      stream.on('error', (error) => log.debug('stream error', { error: error.message }));
      const handling = this.handle(stream, headers).catch((error: unknown) => {
        log.error('request failed', { error: (error as Error).message });
        this.fail(stream, 'ERR_INTERNAL', 'internal error');
      });
      // Uploads write into storage: close() waits for them. Reads (a manifest hashing a whole disk) do not
      // hold a stop up; they end with their session.
      if (headers[':method'] !== 'PUT') return;
      this.handling.add(handling);
      void handling.finally(() => this.handling.delete(handling));
    });
    this.server.on('tlsClientError', (error) => log.debug('TLS handshake refused', { error: error.message }));
  }

  async listen(port: number, host?: string): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.sessions) destroySessionSoon(session);
    await closed;
    // An upload handler may still be writing a partial log or applying when its session goes: closing means
    // it has finished (the destroyed stream ends it soon), so nothing writes into storage after close.
    await Promise.allSettled([...this.handling]);
  }

  private async handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
    const method = String(headers[':method']);
    const path = String(headers[':path']);
    const socket = stream.session?.socket as TLSSocket | undefined;
    if (!socket) return;
    const peer = identifyPeer(socket);
    const rateKey = peer.verified ? `cert:${peer.thumbprint}` : `addr:${socket.remoteAddress ?? '?'}`;
    if (!this.limiter.take(rateKey)) {
      this.metrics.inc('hvr_refused_total', { reason: 'rate' });
      return this.fail(stream, 'ERR_RATE_LIMITED', 'too many requests; slow down and retry');
    }
    if (path === PATH_HEALTH && method === 'GET') return this.reply(stream, 'health', 200, 'ok\n', 'text/plain');
    if (!peer.verified) {
      this.metrics.inc('hvr_refused_total', { reason: 'certificate' });
      log.warn('request without a trusted client certificate refused', { path: path.slice(0, 64), remote: socket.remoteAddress, reason: peer.reason });
      return this.fail(stream, 'ERR_CERTIFICATE_REQUIRED', peer.reason);
    }
    if (path === PATH_METRICS && method === 'GET') {
      return this.reply(stream, 'metrics', 200, this.metrics.render(), 'text/plain; version=0.0.4');
    }
    let auth: PrimaryAuthorization;
    try {
      auth = await this.options.handler.authorize({ dnsNames: peer.dnsNames, thumbprint: peer.thumbprint });
    } catch (error) {
      this.metrics.inc('hvr_refused_total', { reason: 'authorization' });
      log.warn('primary refused', { names: peer.dnsNames, error: (error as Error).message });
      return this.failWith(stream, error);
    }
    const named = headers[HEADER_RELATIONSHIP_ID];
    if (named !== undefined) {
      if (typeof named !== 'string' || !isRelationshipId(named)) return this.fail(stream, 'ERR_INVALID_ARGUMENT', `header ${HEADER_RELATIONSHIP_ID} must be 32 lower-case hex digits`);
      auth = { ...auth, relationshipId: named };
    }
    if (path === PATH_HELLO && method === 'GET') {
      const body: HelloResponse = {
        ProtocolVersion: PROTOCOL_VERSION,
        ReplicaServerName: this.options.credential.dnsNames[0] ?? '',
        PrimaryServerName: auth.primaryServerName,
        TrustGroup: auth.entry.TrustGroup,
        // Only where the content routes are served: without them there is nothing to compute.
        ...(this.options.content ? { HashAlgorithms: [...this.options.content.hashAlgorithms] } : {}),
        LogRecordHashes: [...(this.options.logRecordHashes ?? recordHashesWorthUsingHere())],
      };
      return this.reply(stream, 'hello', 200, JSON.stringify(body), 'application/json');
    }
    const contentRoute = parseContentPath(path);
    const vmId = parseVmPath(path);
    const key = parseLogPath(path);
    // Every request about a VM first: a relationship removed on this server gets nothing (a definition or a
    // seeding from a copy may start a new one).
    const about = contentRoute?.vmId ?? vmId ?? key?.vmId;
    if (about !== undefined) {
      try {
        await this.options.handler.admit(auth, about, vmId !== undefined || contentRoute?.kind === 'backup' ? 'define' : 'continue');
      } catch (error) {
        // Only the tombstone's refusal counts as removed; a malformed VM id or an unreadable tombstone is another failure.
        const removed = (error as { code?: unknown }).code === 'ERR_REPLICATION_REMOVED';
        this.metrics.inc('hvr_refused_total', { reason: removed ? 'removed' : 'admission' });
        return this.failWith(stream, error);
      }
    }
    if (contentRoute) return this.serveContent(stream, headers, contentRoute, auth);
    if (vmId !== undefined) return this.defineVm(stream, method, vmId, auth);
    if (!key) return this.fail(stream, 'ERR_NOT_FOUND', 'no such route');
    try {
      if (method === 'GET') {
        const status = await this.options.handler.uploadStatus(auth, key, logIdentity(headers));
        return this.reply(stream, 'log-status', 200, JSON.stringify(status), 'application/json');
      }
      if (method !== 'PUT') return this.fail(stream, 'ERR_INVALID_ARGUMENT', `method ${method} is not allowed here`);
      const request = {
        offset: headerInteger(headers, HEADER_OFFSET),
        ...(headers[HEADER_TOTAL_LENGTH] === undefined ? {} : { totalLength: headerInteger(headers, HEADER_TOTAL_LENGTH) }),
        ...logIdentity(headers),
      };
      this.metrics.inc('hvr_active_uploads', {}, 1);
      stream.setTimeout(this.options.idleTimeoutMs ?? 60_000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
      // The idle limit guards the receiving only: storing and applying a large log may take minutes, and
      // cancelling then would make the primary send the whole log again.
      stream.once('end', () => stream.setTimeout(0));
      try {
        const status = await this.options.handler.upload(auth, key, request, this.uploadBody(stream));
        if (status.Accepted) this.metrics.inc('hvr_logs_accepted_total');
        return this.reply(stream, 'log-upload', 200, JSON.stringify(status), 'application/json');
      } finally {
        this.metrics.inc('hvr_active_uploads', {}, -1);
      }
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'ERR_INTERNAL';
      if (code.startsWith('ERR_LOG_')) this.metrics.inc('hvr_logs_rejected_total', { code });
      if (stream.destroyed || stream.closed) {
        this.metrics.inc('hvr_uploads_interrupted_total');
        return;
      }
      return this.failWith(stream, error);
    }
  }

  private async defineVm(stream: ServerHttp2Stream, method: string, vmId: string, auth: PrimaryAuthorization): Promise<void> {
    if (method !== 'PUT') return this.fail(stream, 'ERR_INVALID_ARGUMENT', `method ${method} is not allowed here`);
    try {
      const definition = await readVmDefinition(stream, vmId);
      const result = await this.options.handler.defineVm(auth, definition);
      return this.reply(stream, 'vm-define', 200, JSON.stringify(result), 'application/json');
    } catch (error) {
      return this.failWith(stream, error);
    }
  }

  /** The replica-content routes (manifest-wire.ts); authorized like log uploads by the time they get here. */
  private async serveContent(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, route: ContentRoute, auth: PrimaryAuthorization): Promise<void> {
    const method = String(headers[':method']);
    const content = this.options.content;
    if (!content) return this.fail(stream, 'ERR_NOT_FOUND', 'this replica server does not serve replica content');
    const expected = route.kind === 'backup' ? 'PUT' : route.kind === 'digests' ? 'POST' : 'GET';
    if (method !== expected) return this.fail(stream, 'ERR_INVALID_ARGUMENT', `method ${method} is not allowed here`);
    if ((route.kind === 'manifest' || route.kind === 'digests') && !content.hashAlgorithms.some((a) => a === route.algorithm)) {
      return this.fail(stream, 'ERR_INVALID_ARGUMENT', `this replica server computes ${content.hashAlgorithms.join(', ')} digests, not '${route.algorithm}'`);
    }
    try {
      if (route.kind === 'backup') {
        const definition = await readVmDefinition(stream, route.vmId);
        return this.reply(stream, 'vm-backup', 200, JSON.stringify(await content.seedFromBackup(auth, definition)), 'application/json');
      }
      if (route.kind === 'content') return this.reply(stream, 'vm-content', 200, JSON.stringify(await content.content(auth, route.vmId)), 'application/json');
      if (route.kind === 'digests') return await this.serveDigests(stream, headers, route, auth, content);
      const { status, manifest } = await content.manifest(auth, route.vmId, route.diskId, route.blockSize, route.algorithm as HashAlgorithm);
      this.metrics.inc('hvr_requests_total', { route: 'manifest', status: '200' });
      if (stream.destroyed || stream.closed) return;
      stream.respond({
        ':status': 200,
        'content-type': MANIFEST_CONTENT_TYPE,
        'content-length': manifest.length,
        [HEADER_PROTOCOL]: String(PROTOCOL_VERSION),
        // Encoded: a reference point name is the primary's to choose and must not break the header.
        [HEADER_POSITION]: encodeURIComponent(status.Position ?? ''),
        [HEADER_REFERENCE_POINT]: encodeURIComponent(status.ReferencePoint),
      });
      stream.end(manifest);
    } catch (error) {
      return this.failWith(stream, error);
    }
  }

  /** The fine pass of a two-level comparison: digests of the ranges the body names, of the content the headers name. */
  private async serveDigests(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    route: Extract<ContentRoute, { kind: 'digests' }>,
    auth: PrimaryAuthorization,
    content: ReplicaContentHandler,
  ): Promise<void> {
    let ranges: ReturnType<typeof decodeRanges>;
    try {
      ranges = decodeRanges(await readBody(stream, MAX_DIGEST_REQUEST_BYTES, 'a digests request'));
    } catch (error) {
      if (error instanceof RangeError) throw new HttpError('ERR_INVALID_ARGUMENT', error.message);
      throw error;
    }
    const text = (name: string) => {
      try {
        return decodeURIComponent(String(headers[name] ?? ''));
      } catch {
        throw new HttpError('ERR_INVALID_ARGUMENT', `header ${name} is not valid percent-encoded text`);
      }
    };
    const request = { blockSize: route.blockSize, algorithm: route.algorithm as HashAlgorithm, position: text(HEADER_POSITION), referencePoint: text(HEADER_REFERENCE_POINT), ranges };
    const digests = await content.digests(auth, route.vmId, route.diskId, request);
    this.metrics.inc('hvr_requests_total', { route: 'digests', status: '200' });
    if (stream.destroyed || stream.closed) return;
    stream.respond({ ':status': 200, 'content-type': DIGESTS_CONTENT_TYPE, 'content-length': digests.length, [HEADER_PROTOCOL]: String(PROTOCOL_VERSION) });
    stream.end(digests);
  }

  private uploadBody(stream: ServerHttp2Stream): AsyncGenerator<Buffer> {
    // Not destroyed when the receiver stops reading (a full disk): the stream must still carry the answer.
    return bodyChunks(stream, { onChunk: (chunk) => this.metrics.inc('hvr_received_bytes_total', {}, chunk.length) });
  }

  private reply(stream: ServerHttp2Stream, route: string, status: number, body: string, contentType: string): void {
    this.metrics.inc('hvr_requests_total', { route, status: String(status) });
    if (stream.destroyed || stream.closed) return;
    stream.respond({ ':status': status, 'content-type': contentType, [HEADER_PROTOCOL]: String(PROTOCOL_VERSION) });
    stream.end(body);
    // A refusal may come before the body was read (a wrong offset, a full disk, a VM that failed over).
    if (!stream.endAfterHeaders && !stream.readableEnded) stopRequestBodySoon(stream);
  }

  private failWith(stream: ServerHttp2Stream, error: unknown): void {
    const code = (error as { code?: string }).code;
    const known = typeof code === 'string' && statusForCode(code) !== 500;
    const extra = error instanceof OffsetMismatchError ? { ReceivedBytes: error.receivedBytes } : {};
    this.fail(stream, known ? code : 'ERR_INTERNAL', known ? (error as Error).message : 'internal error', extra);
    if (!known) log.error('unexpected error', { error: (error as Error).stack ?? String(error) });
  }

  private fail(stream: ServerHttp2Stream, code: string, message: string, extra: Partial<WireError> = {}): void {
    const body: WireError = { error: { code, message }, ...extra };
    this.reply(stream, 'error', statusForCode(code), JSON.stringify(body), 'application/json');
  }
}

/**
 * Reads a VM definition body (the define and backup routes both take one), bounded so a client cannot make
 * the server buffer without limit, and checks it names the VM of the path.
 */
/** A request body of at most `limit` bytes (`what` names it in the error). */
async function readBody(stream: ServerHttp2Stream, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError('ERR_TOO_LARGE', `${what} is at most ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function readVmDefinition(stream: ServerHttp2Stream, vmId: string): Promise<ReplicaVmDefinition> {
  const definition = decodeReplicaVmDefinition(await readBody(stream, MAX_REPLICA_VM_BYTES, 'a VM definition'));
  if (definition.VMId !== vmId) throw new HttpError('ERR_INVALID_ARGUMENT', `the definition is for VM ${definition.VMId}, not ${vmId} named in the path`);
  return definition;
}

/** The optional headers that say which log of a sequence a request is about. */
function logIdentity(headers: IncomingHttpHeaders): LogIdentity {
  const text = (name: string) => {
    const value = headers[name];
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  };
  const uploadId = text(HEADER_UPLOAD_ID);
  const logHash = text(HEADER_LOG_HASH);
  return { ...(uploadId === undefined ? {} : { uploadId }), ...(logHash === undefined ? {} : { logHash }) };
}

function headerInteger(headers: IncomingHttpHeaders, name: string): number {
  const value = headers[name];
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) throw new HttpError('ERR_INVALID_ARGUMENT', `header ${name} must be a non-negative integer`);
  return Number(value);
}
