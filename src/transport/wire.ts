/**
 * The replica server's HTTP/2 surface as data: paths, headers, status codes and the error body. Both
 * the server and the client use these, so the two cannot drift apart.
 *
 *   GET  /healthz                                    liveness; the only thing answered without a client certificate
 *   GET  /metrics                                    Prometheus text; needs a certificate this server trusts
 *   GET  /v1/hello                                   who the server is and whether this primary is authorized
 *   PUT  /v1/vms/<vmId>                              the replica VM definition (JSON), before every full copy
 *   GET  /v1/logs/<vmId>/<diskId>/<gen>/<seq>        upload status: bytes durably held, accepted or not
 *                                                    (`hvr-upload-id` or `hvr-log-hash` names which log of that sequence)
 *   PUT  /v1/logs/<vmId>/<diskId>/<gen>/<seq>        upload bytes from `hvr-offset` of the log `hvr-upload-id`; with
 *                                                    `hvr-total-length` (and `hvr-log-hash`) when the primary knows them,
 *                                                    without them the body streams a log still being encoded, to its trailer
 */
import { isGuid } from '../protocol/index.js';
import type { LogKey } from '../replica/index.js';

/**
 * 2: uploads may stream a log still being encoded (no `hvr-total-length`, an `hvr-upload-id` from the first
 * byte). A version 2 server still takes version 1 uploads (declared length and hash); a primary needs a
 * server of at least version 2 and says so instead of failing on a header the old server does not know.
 * 3: the hello lists the hash algorithms the manifest and digests routes compute (`HashAlgorithms`), and
 * those routes take `&algorithm=`; a primary asks for BLAKE3 only from a server that lists it, and for
 * SHA-256 (the only one before, asked for without the parameter) from any other.
 * 4: the hello lists the record checksums of replication logs the server wants to be sent (`LogRecordHashes`);
 * a primary writes BLAKE3 logs (log format version 3) only to a server that lists BLAKE3, and version 2
 * (SHA-256) logs to any other. A version 4 server reads both whatever it lists.
 * 5: `HashAlgorithms` may list `xxh128` (XXH3-128 manifests and digests); a primary prefers it, then BLAKE3, so
 * with a version 3 or 4 server it compares by BLAKE3 as before, and an older primary never asks for it.
 * 6: `LogRecordHashes` may list `xxh128`: a primary prefers XXH3-128 logs (log format version 4), then BLAKE3, so
 * a version 4 or 5 server is sent BLAKE3 logs as before, and an older primary (which knows BLAKE3 only) sends a
 * version 6 server BLAKE3 logs, which it reads as it always did.
 */
export const PROTOCOL_VERSION = 6;
export const MIN_SERVER_PROTOCOL_VERSION = 2;
export const HEADER_PROTOCOL = 'hvr-protocol';
export const HEADER_OFFSET = 'hvr-offset';
export const HEADER_TOTAL_LENGTH = 'hvr-total-length';
export const HEADER_LOG_HASH = 'hvr-log-hash';
export const HEADER_UPLOAD_ID = 'hvr-upload-id';
/**
 * The primary's relationship of the VM a request is about (32 lower-case hex digits, drawn at enable), on every
 * request of a relationship that has one. A replica server refuses the requests of a relationship removed on it
 * (ERR_REPLICATION_REMOVED). Servers before it ignore the header; primaries before it send none.
 */
export const HEADER_RELATIONSHIP_ID = 'hvr-relationship-id';
const RELATIONSHIP_ID = /^[0-9a-f]{32}$/;

export function isRelationshipId(value: string): boolean {
  return RELATIONSHIP_ID.test(value);
}

export const PATH_HEALTH = '/healthz';
export const PATH_METRICS = '/metrics';
export const PATH_HELLO = '/v1/hello';
const VM_PATH = /^\/v1\/vms\/([0-9a-f-]{36})$/;
const LOG_PATH = /^\/v1\/logs\/([0-9a-f-]{36})\/([0-9a-f-]{36})\/(\d{1,15})\/(\d{1,15})$/;

export function logPath(key: LogKey): string {
  return `/v1/logs/${key.vmId}/${key.diskId}/${key.generation}/${key.sequence}`;
}

export function vmPath(vmId: string): string {
  return `/v1/vms/${vmId}`;
}

export function parseVmPath(path: string): string | undefined {
  const match = VM_PATH.exec(path);
  return match && isGuid(match[1]!) ? match[1]! : undefined;
}

/** Parses a log path; anything that is not exactly GUIDs and small integers is refused. */
export function parseLogPath(path: string): LogKey | undefined {
  const match = LOG_PATH.exec(path);
  if (!match || !isGuid(match[1]!) || !isGuid(match[2]!)) return undefined;
  const generation = Number(match[3]);
  const sequence = Number(match[4]);
  if (!Number.isSafeInteger(generation) || !Number.isSafeInteger(sequence) || sequence < 0) return undefined;
  return { vmId: match[1]!, diskId: match[2]!, generation, sequence };
}

export interface WireError {
  error: { code: string; message: string };
  ReceivedBytes?: number;
}

export interface HelloResponse {
  ProtocolVersion: number;
  ReplicaServerName: string;
  PrimaryServerName: string;
  TrustGroup: string;
  /** Algorithms the manifest and digests routes compute (protocol 3 on); absent from older servers: SHA-256 only. */
  HashAlgorithms?: string[];
  /**
   * Record checksums of the replication logs this server would be sent (protocol 4 on, `xxh128` from 6 on;
   * log-format.ts); absent from older servers, which read SHA-256 (format version 2) logs only.
   */
  LogRecordHashes?: string[];
}

const STATUS_BY_CODE: Record<string, number> = {
  ERR_INVALID_ARGUMENT: 400,
  ERR_CERTIFICATE_REQUIRED: 401,
  ERR_UNAUTHORIZED: 403,
  ERR_NOT_FOUND: 404,
  ERR_INVALID_STATE: 409,
  ERR_TOO_LARGE: 413,
  ERR_LOG_BAD_MAGIC: 422,
  ERR_LOG_UNKNOWN_VERSION: 422,
  ERR_LOG_CHECKSUM: 422,
  ERR_LOG_TRUNCATED: 422,
  ERR_LOG_OVERSIZED: 422,
  ERR_LOG_MALFORMED: 422,
  ERR_RATE_LIMITED: 429,
  ERR_BUSY: 503,
  ERR_DISK_FULL: 507,
  ERR_LOG_OUT_OF_SEQUENCE: 409,
  ERR_LOG_MISMATCH: 409,
  ERR_REPLICATION_REMOVED: 409,
};

export function statusForCode(code: string): number {
  return STATUS_BY_CODE[code] ?? 500;
}

/** The code of an answer whose body never arrived (the server answered and reset a stream still uploading). */
export function codeForStatus(status: number): string {
  return Object.entries(STATUS_BY_CODE).find(([, s]) => s === status)?.[0] ?? 'ERR_CONNECTION';
}
