/**
 * What the receiver does with a log once every byte of it is durable and verified: it hands the file to
 * a LogConsumer. The replica server's consumer is the VM's replica storage (src/storage), which stores,
 * applies and seals; the receiver itself only deals with bytes arriving over an unreliable network.
 */
import type { DecodedRecord, LogHeader, LogSummary } from '../protocol/index.js';

export interface LogKey {
  vmId: string;
  diskId: string;
  generation: number;
  sequence: number;
}

export interface VerifiedLog extends LogKey {
  /**
   * The complete, verified, durable log file. The consumer keeps what it needs by copying or hard-linking
   * it (never by moving or changing it: the receiver may need it again after a crash); the receiver then
   * deletes its own name.
   */
  path: string;
  summary: LogSummary;
  /** DNS name of the primary that sent it. */
  primaryServerName: string;
  /** A disk holding this log's records, written while it arrived (from `stage`); the consumer moves or ignores it. */
  staged?: string;
  /**
   * The file at `path` is hollow (hollow-log.ts): it holds the log's framing, and the payloads of its
   * uncompressed data records live only in `staged`. Never set without `staged`.
   */
  hollow?: boolean;
}

/** Somewhere to write a log's records as they arrive, which nobody sees before the log is consumed. */
export interface Staging {
  /** The staged file (named to resume an upload into it, see LogConsumer.stage). */
  readonly path: string;
  /** Takes one decoded record; the whole log, and so this record, is verified only later (LogVisitor). */
  record(record: DecodedRecord): Promise<void>;
  /** Reads back staged bytes (the payloads a hollow log leaves out). */
  read(offset: number, length: number): Promise<Buffer>;
  /** Makes what was written durable; resolves with the file to hand over as VerifiedLog.staged. */
  finish(): Promise<string>;
  /** Makes what was written durable and lets the file go without handing it over (an upload cut short). */
  suspend(): Promise<void>;
  discard(): Promise<void>;
}

export interface LogConsumer {
  /** Resolves once the log is held durably (that is when the primary may be told it is accepted). */
  consume(vmDir: string, log: VerifiedLog): Promise<void>;
  /**
   * Optional: an upload into `vmDir` begins; the receiver calls the returned function once it is over
   * (answered or failed). Lets background work on the replica give way to cycles (upload-activity.ts).
   */
  uploading?(vmDir: string): () => void;
  /**
   * Optional: a staging for a log whose header just arrived, when applying it while it arrives pays. With
   * `resume`, the staging an earlier, cut upload of the same log suspended at that path, if it may still be used.
   */
  stage?(vmDir: string, header: LogHeader, resume?: string): Promise<Staging | undefined>;
}
