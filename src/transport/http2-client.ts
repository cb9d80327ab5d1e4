/**
 * The primary's side of the wire: one HTTP/2 session over TLS 1.3 to a replica server, presenting
 * this host's certificate and verifying the server's against the trusted roots and the replica
 * server name. Many requests (several log uploads at once) share the session as parallel streams.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { connect as tlsConnect, checkServerIdentity, type PeerCertificate, type TLSSocket } from 'node:tls';
import { Readable } from 'node:stream';
import { agreedRecordHash, recordHashesWorthUsingHere, type RecordHashAlgorithm, type ReplicaVmDefinition } from '../protocol/index.js';
import type { DefineResult, LogIdentity, LogKey, UploadStatus } from '../replica/index.js';
import { OID_SERVER_AUTH, tlsOptions, type HostCredential } from '../security/index.js';
import { TransportError } from './errors.js';
import { DEFAULT_LIVENESS, SessionLiveness, type LivenessOptions } from './session-liveness.js';
import { destroySessionSoon, resetStreamSoon } from './session-teardown.js';
import type { ByteRange, HashAlgorithm } from '../tracking/index.js';
import {
  backupPath,
  contentPath,
  digestsPath,
  encodeRanges,
  HEADER_POSITION,
  HEADER_REFERENCE_POINT,
  manifestPath,
  MAX_DIGEST_ANSWER_BYTES,
  MAX_MANIFEST_BYTES,
  type BackupSeedResult,
  type ReplicaContentStatus,
} from './manifest-wire.js';
import { codeForStatus, HEADER_LOG_HASH, HEADER_PROTOCOL, MIN_SERVER_PROTOCOL_VERSION, HEADER_OFFSET, HEADER_TOTAL_LENGTH, HEADER_UPLOAD_ID, HEADER_RELATIONSHIP_ID, logPath, PATH_HEALTH, PATH_HELLO, vmPath, type HelloResponse, type WireError } from './wire.js';

export interface ReplicaEndpoint {
  /** The replica server's DNS name: what its certificate must carry. */
  serverName: string;
  port: number;
  /** Where to connect if not the name itself (tests, NAT); the certificate is still checked against serverName. */
  address?: string;
  /** The relationship the requests are made for (its RelationshipId): sent on each as `hvr-relationship-id`. */
  relationshipId?: string;
}

export interface ConnectOptions {
  connectTimeoutMs?: number;
  /** When a server that stopped answering counts as gone (session-liveness.ts). */
  liveness?: LivenessOptions;
  /** Ends the attempt at once with its reason: a cancelled cycle does not wait for a handshake that may never end. */
  signal?: AbortSignal;
}

const MAX_RESPONSE_BYTES = 1024 * 1024;

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ERR_HTTP2_STREAM_ERROR', 'ERR_HTTP2_SESSION_ERROR', 'ERR_HTTP2_GOAWAY_SESSION', 'ERR_HTTP2_INVALID_SESSION', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_HTTP2_STREAM_CANCEL']);

function describeNetworkError(error: unknown, endpoint: ReplicaEndpoint): TransportError {
  if (error instanceof TransportError) return error;
  const e = error as NodeJS.ErrnoException;
  const where = `${endpoint.serverName}:${endpoint.port}`;
  if (e.code && /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS_CERT_ALTNAME_INVALID/.test(e.code)) {
    return new TransportError('ERR_UNAUTHORIZED', `the certificate of ${where} is not trusted (${e.message}); trust the CA that signed it with "hvreplica cert trust"`, false);
  }
  if (/alert|certificate/i.test(e.message ?? '')) {
    return new TransportError('ERR_UNAUTHORIZED', `${where} refused this host's certificate during the TLS handshake (${e.message}); the replica must trust the CA that signed it`, false);
  }
  return new TransportError('ERR_CONNECTION', `cannot reach the replica server ${where}: ${e.message ?? String(error)}`, NETWORK_CODES.has(e.code ?? '') || !e.code);
}

function answerError(status: number, wire: WireError | undefined): TransportError {
  const code = wire?.error?.code ?? codeForStatus(status);
  const message =
    wire?.error?.message ?? (code === 'ERR_DISK_FULL' ? 'the replica server\'s storage is full; free space there, replication resumes where it stopped' : `the replica server answered HTTP ${status}`);
  const retryable = status === 429 || status === 503 || status === 507 || (status >= 500 && code === 'ERR_INTERNAL');
  const mapped = code === 'ERR_CERTIFICATE_REQUIRED' ? 'ERR_UNAUTHORIZED' : code;
  return new TransportError(mapped, message, retryable, status, wire?.ReceivedBytes);
}

export interface LogUpload extends LogIdentity {
  offset: number;
  totalLength?: number;
}

function identityHeaders(identity: LogIdentity): OutgoingHttpHeaders {
  return {
    ...(identity.uploadId === undefined ? {} : { [HEADER_UPLOAD_ID]: identity.uploadId }),
    ...(identity.logHash === undefined ? {} : { [HEADER_LOG_HASH]: identity.logHash }),
  };
}

export class ReplicaClient {
  private readonly liveness: SessionLiveness;
  /** Asked once per session: the server's answer cannot change while it runs. */
  private recordHashAnswer: Promise<RecordHashAlgorithm> | undefined;
  /** destroy() was called: the session ends on the next turn (session-teardown.ts), requests are refused now. */
  private dropped = false;
  /**
   * A request was cancelled: close() then ends the session instead of closing it gracefully, which waits for the
   * server to take what was sent and to close its side: a server that stopped answering (often why the caller
   * cancelled) never does.
   */
  private cancelled = false;

  private readonly closeGraceMs: number;

  private constructor(
    private readonly session: ClientHttp2Session,
    readonly endpoint: ReplicaEndpoint,
    liveness: LivenessOptions = {},
  ) {
    const settings = { ...DEFAULT_LIVENESS, ...liveness };
    this.liveness = new SessionLiveness(session, settings);
    this.closeGraceMs = settings.timeoutMs;
  }

  static async connect(endpoint: ReplicaEndpoint, credential: HostCredential, options: ConnectOptions = {}): Promise<ReplicaClient> {
    const authority = `https://${endpoint.serverName}:${endpoint.port}`;
    const tls = tlsOptions(credential);
    return new Promise<ReplicaClient>((resolve, reject) => {
      const signal = options.signal;
      if (signal?.aborted) return reject(signal.reason);
      const session = http2.connect(authority, {
        // Answers are small; what matters is the server's window for our uploads (http2-server.ts).
        settings: { initialWindowSize: 1024 * 1024 },
        createConnection: () =>
          tlsConnect({
            ...tls,
            host: endpoint.address ?? endpoint.serverName,
            port: endpoint.port,
            servername: endpoint.serverName,
            minVersion: 'TLSv1.3',
            ALPNProtocols: ['h2'],
            checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(endpoint.serverName, cert),
          }),
      });
      // One way out of the attempt, whichever comes first; a session not handed over is ended.
      let settled = false;
      const timer = setTimeout(() => fail(new TransportError('ERR_CONNECTION', `connecting to ${endpoint.serverName}:${endpoint.port} timed out`, true)), options.connectTimeoutMs ?? 15_000);
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        destroySessionSoon(session);
        reject(error);
      };
      const onAbort = () => fail(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      session.once('connect', () => {
        if (settled) return;
        const usage = (session.socket as TLSSocket).getPeerCertificate(false)?.ext_key_usage;
        if (usage && usage.length > 0 && !usage.includes(OID_SERVER_AUTH)) {
          return fail(new TransportError('ERR_UNAUTHORIZED', `the certificate of ${endpoint.serverName} lacks the Server Authentication usage`, false));
        }
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        session.removeAllListeners('error');
        session.on('error', () => undefined);
        resolve(new ReplicaClient(session, endpoint, options.liveness));
      });
      session.once('error', (error) => fail(describeNetworkError(error, endpoint)));
    });
  }

  get closed(): boolean {
    return this.dropped || this.session.closed || this.session.destroyed;
  }

  /**
   * Closes gracefully: requests still in flight finish, then the session ends. A server that stopped answering
   * never lets that happen (node's close then waits for it without end, and the liveness check, which stops once
   * the session is closing, no longer ends it), so after as long as a ping may go unanswered the session is ended.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.cancelled) return this.destroy();
    // Never inside a stream's answer: a close that finds no stream left destroys the session at once, which node's
    // HTTP/2 must not do while it processes received data (session-teardown.ts).
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      const gone = setTimeout(() => {
        this.destroy();
        resolve();
      }, this.closeGraceMs);
      this.session.close(() => {
        clearTimeout(gone);
        resolve();
      });
    });
  }

  /** Ends the session without waiting for its requests, which fail; the client is closed from now on. */
  destroy(): void {
    this.dropped = true;
    destroySessionSoon(this.session);
  }

  // Every request takes the caller's cancel `signal` (exchange()): it ends at once, whatever the server does.

  async health(signal?: AbortSignal): Promise<string> {
    return (await this.request({ ':method': 'GET', ':path': PATH_HEALTH }, undefined, signal)).toString('utf8');
  }

  async hello(signal?: AbortSignal): Promise<HelloResponse> {
    return JSON.parse((await this.request({ ':method': 'GET', ':path': PATH_HELLO }, undefined, signal)).toString('utf8')) as HelloResponse;
  }

  /**
   * The record checksum to write logs with for this server (log-format.ts): XXH3-128 when it lists it (protocol
   * 6 on), else BLAKE3 when it lists it and this host computes it fast, else SHA-256 (what every server reads).
   * The hello runs under the first asker's `signal` (the callers of one session are one cycle's); cancelled, it
   * is forgotten like any failed one.
   */
  recordHash(signal?: AbortSignal): Promise<RecordHashAlgorithm> {
    this.recordHashAnswer ??= this.hello(signal).then((hello) => agreedRecordHash(hello.LogRecordHashes, recordHashesWorthUsingHere()));
    // A failed hello is asked again next time, not remembered.
    this.recordHashAnswer.catch(() => (this.recordHashAnswer = undefined));
    return this.recordHashAnswer;
  }

  /** What the replica holds of a log; with an identity, of that exact log (a re-cut one is not accepted). */
  async status(key: LogKey, identity: LogIdentity = {}, signal?: AbortSignal): Promise<UploadStatus> {
    const headers: OutgoingHttpHeaders = { ':method': 'GET', ':path': logPath(key), ...identityHeaders(identity) };
    return JSON.parse((await this.request(headers, undefined, signal)).toString('utf8')) as UploadStatus;
  }

  /** Sends the replica VM definition; the replica creates its storage or checks it matches. */
  async defineVm(definition: ReplicaVmDefinition, signal?: AbortSignal): Promise<DefineResult> {
    const body = Readable.from([Buffer.from(JSON.stringify(definition))]);
    const headers: OutgoingHttpHeaders = { ':method': 'PUT', ':path': vmPath(definition.VMId), 'content-type': 'application/json' };
    return JSON.parse((await this.request(headers, body, signal)).toString('utf8')) as DefineResult;
  }

  /**
   * Sends `body` (the log's bytes from `offset` on); resolves with what the server then holds. Without
   * `totalLength` the body is the rest of a log still being written, and must run to its trailer.
   */
  async put(key: LogKey, upload: LogUpload, body: Readable, signal?: AbortSignal): Promise<UploadStatus> {
    const headers: OutgoingHttpHeaders = {
      ':method': 'PUT',
      ':path': logPath(key),
      [HEADER_OFFSET]: String(upload.offset),
      ...(upload.totalLength === undefined ? {} : { [HEADER_TOTAL_LENGTH]: String(upload.totalLength) }),
      ...identityHeaders(upload),
    };
    return JSON.parse((await this.request(headers, body, signal)).toString('utf8')) as UploadStatus;
  }

  /** What the replica holds of a VM: position, reference point and disks of its latest applied content. */
  async content(vmId: string, signal?: AbortSignal): Promise<ReplicaContentStatus> {
    return JSON.parse((await this.request({ ':method': 'GET', ':path': contentPath(vmId) }, undefined, signal)).toString('utf8')) as ReplicaContentStatus;
  }

  /** The encoded hash manifest of one replica disk's latest content, and the position it describes. */
  async manifest(vmId: string, diskId: string, blockSize: number, algorithm?: HashAlgorithm, signal?: AbortSignal): Promise<{ manifest: Buffer; position: string | null; referencePoint: string }> {
    const answer = await this.exchange({ ':method': 'GET', ':path': manifestPath(vmId, diskId, blockSize, algorithm) }, undefined, MAX_MANIFEST_BYTES, signal);
    const header = (name: string) => decodeURIComponent(String(answer.headers[name] ?? ''));
    return { manifest: answer.body, position: header(HEADER_POSITION) || null, referencePoint: header(HEADER_REFERENCE_POINT) };
  }

  /**
   * Digests of the `blockSize` blocks of `ranges` of one replica disk (concatenated, 32 bytes each), of the
   * content at `position`/`referencePoint` (the replica refuses with ERR_BUSY when it moved on since).
   */
  async digests(vmId: string, diskId: string, request: { blockSize: number; algorithm?: HashAlgorithm; position: string; referencePoint: string; ranges: readonly ByteRange[] }, signal?: AbortSignal): Promise<Buffer> {
    const headers: OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': digestsPath(vmId, diskId, request.blockSize, request.algorithm),
      'content-type': 'application/octet-stream',
      [HEADER_POSITION]: encodeURIComponent(request.position),
      [HEADER_REFERENCE_POINT]: encodeURIComponent(request.referencePoint),
    };
    return (await this.exchange(headers, Readable.from([encodeRanges(request.ranges)]), MAX_DIGEST_ANSWER_BYTES, signal)).body;
  }

  /** Asks the replica to create the VM's replica from the copy of its disks registered there. */
  async seedFromBackup(definition: ReplicaVmDefinition, signal?: AbortSignal): Promise<BackupSeedResult> {
    const body = Readable.from([Buffer.from(JSON.stringify(definition))]);
    const headers: OutgoingHttpHeaders = { ':method': 'PUT', ':path': backupPath(definition.VMId), 'content-type': 'application/json' };
    return JSON.parse((await this.request(headers, body, signal)).toString('utf8')) as BackupSeedResult;
  }

  private async request(headers: OutgoingHttpHeaders, body: Readable | undefined, signal: AbortSignal | undefined): Promise<Buffer> {
    return (await this.exchange(headers, body, MAX_RESPONSE_BYTES, signal)).body;
  }

  /**
   * One request and its whole answer. `signal` ends it at once, whatever the server does: a comparison stopped by a
   * suspend must not wait for a server that stopped answering (its session's liveness check takes 30 s).
   */
  private exchange(headers: OutgoingHttpHeaders, body: Readable | undefined, maxBytes: number, signal?: AbortSignal): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
    return new Promise<{ headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      if (this.dropped) return reject(new TransportError('ERR_CONNECTION', `the connection to ${this.endpoint.serverName}:${this.endpoint.port} was dropped; connect again`, true));
      let stream: ClientHttp2Stream;
      try {
        const relationship = this.endpoint.relationshipId;
        stream = this.session.request(relationship === undefined ? headers : { ...headers, [HEADER_RELATIONSHIP_ID]: relationship }, { endStream: body === undefined });
      } catch (error) {
        return reject(describeNetworkError(error, this.endpoint));
      }
      let status = 0;
      let answered: IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const untrack = this.liveness.track();
      // Ended like any failure, with the canceller's reason; the stream is cancelled after, so its close finds it settled.
      // A request with a body is reset as when its body fails (below): the replica keeps a cut upload for its resume.
      const onAbort = () => {
        this.cancelled = true;
        finish(signal!.reason);
        if (stream.destroyed) return;
        // A cancel may come from the continuation of another stream's answer (a sibling upload refused).
        if (body) resetStreamSoon(stream, new Error('the request was cancelled'));
        else stream.close(http2.constants.NGHTTP2_CANCEL);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const finish = (error: unknown, value?: Buffer) => {
        if (settled) return;
        settled = true;
        untrack();
        signal?.removeEventListener('abort', onAbort);
        body?.unpipe(stream);
        // However the stream ended, a session ended for silence says so.
        const lost = this.liveness.lostReason;
        if (error instanceof TransportError && error.code === 'ERR_CONNECTION' && lost) error = new TransportError('ERR_CONNECTION', lost, true);
        if (error !== undefined) {
          body?.destroy();
          reject(error);
        } else resolve({ headers: answered, body: value! });
      };
      stream.on('response', (h) => {
        status = Number(h[':status']);
        answered = h;
      });
      stream.on('data', (chunk: Buffer) => {
        this.liveness.progress();
        size += chunk.length;
        if (size > maxBytes) {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          return finish(new TransportError('ERR_CONNECTION', 'the replica server sent an oversized response', false));
        }
        chunks.push(chunk);
      });
      stream.on('end', () => {
        const text = Buffer.concat(chunks);
        const outdated = outdatedServer(answered, this.endpoint);
        if (outdated) return finish(outdated);
        if (status === 200) return finish(undefined, text);
        if (status === 0) return finish(new TransportError('ERR_CONNECTION', 'the connection to the replica server was lost before it answered', true));
        let wire: WireError | undefined;
        try {
          wire = JSON.parse(text.toString('utf8')) as WireError;
        } catch {
          wire = undefined;
        }
        finish(answerError(status, wire));
        // A refusal may come before the whole body was sent (the replica ended the upload: its VM failed over or
        // its relationship was removed). The rest is not wanted, and a stream left open on this side would keep
        // the session's close() (the end of `hvreplica replicate`) waiting for it until the server's idle timeout.
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      });
      // An error answer may come with the stream reset while the body is still uploading: the status tells.
      stream.on('error', (error) => finish(status >= 400 ? answerError(status, undefined) : describeNetworkError(error, this.endpoint)));
      stream.on('close', () => finish(status >= 400 ? answerError(status, undefined) : new TransportError('ERR_CONNECTION', 'the replica server closed the stream before answering', true)));
      if (body) {
        body.on('error', (error) => {
          finish(new TransportError('ERR_CONNECTION', `reading the log failed: ${error.message}`, false));
          // The request cannot complete: reset the stream, or the session would wait for it when closed. Reset, not
          // close(): close ends the body before its RST, and the replica would take the cut log for a whole one
          // (a streamed log is then refused and deleted instead of kept for the resume).
          resetStreamSoon(stream, error);
        });
        body.pipe(stream);
        // Body bytes keep flowing only while the server grants flow-control window: progress.
        body.on('data', () => this.liveness.progress());
      }
    });
  }
}

/**
 * A replica server older than this primary's protocol would refuse its streamed uploads with an error about
 * a header; say what is really wrong. Answers without the header (health) are not judged.
 */
export function outdatedServer(headers: IncomingHttpHeaders, endpoint: ReplicaEndpoint): TransportError | undefined {
  const spoken = headers[HEADER_PROTOCOL];
  if (spoken === undefined) return undefined;
  const version = Number(spoken);
  if (Number.isInteger(version) && version >= MIN_SERVER_PROTOCOL_VERSION) return undefined;
  return new TransportError(
    'ERR_PROTOCOL_VERSION',
    `replica server ${endpoint.serverName} speaks protocol ${String(spoken)}, this primary needs ${MIN_SERVER_PROTOCOL_VERSION} or later: upgrade hvreplica on the replica server, then replicate again`,
    false,
  );
}
