/**
 * Where the primary's logs go. The transport's upload is one sink; LocalSink hands logs straight to a
 * ReplicaStorage in the same process (tests, and replication between two state folders on one host).
 * A sink resolves `deliver` only when the replica holds every log of the cycle durably: that is the
 * acknowledgement after which the primary may commit its reference point.
 */
import { logger } from '../logging/logger.js';
import type { LogWriteOptions } from '../protocol/log-encoder.js';
import type { LogHeaderInput } from '../protocol/log-format.js';
import { isStorageError } from '../storage/errors.js';
import type { RecoveryPoint, ReplicaStorage } from '../storage/replica-storage.js';

const log = logger('local-sink');

export interface OutgoingLog {
  /** The GUID the log header carries. */
  diskId: string;
  header: LogHeaderInput;
  /**
   * Encodes the log; called once per delivery attempt, streams with bounded memory. The sink chooses how the
   * log is written (`options`: its record checksum, which depends on who reads it) and passes the same choice
   * to every encoding of one delivery, so that they yield the same bytes.
   */
  encode(options?: LogWriteOptions): AsyncIterable<Buffer>;
}

export interface OutgoingCycle {
  vmId: string;
  generation: number;
  sequence: number;
  logs: OutgoingLog[];
}

export interface DeliveryAck {
  generation: number;
  sequence: number;
  /** Bytes of log handed to the replica (what crossed the wire). */
  logBytes: number;
}

export interface LogSink {
  deliver(cycle: OutgoingCycle, signal?: AbortSignal): Promise<DeliveryAck>;
}

export interface LocalSinkOptions {
  /** Apply (and seal when due) as soon as a cycle is complete; default true, like a replica server. */
  applyOnReceive?: boolean;
}

export class LocalSink implements LogSink {
  /** Recovery points sealed while delivering, for callers that watch them (tests, the demo). */
  readonly sealed: RecoveryPoint[] = [];
  /** The error of the last failed apply, until an apply succeeds (health reporting reads it). */
  lastApplyError: unknown;

  constructor(
    private readonly storage: ReplicaStorage,
    private readonly options: LocalSinkOptions = {},
  ) {}

  async deliver(cycle: OutgoingCycle, signal?: AbortSignal): Promise<DeliveryAck> {
    let logBytes = 0;
    for (const outgoing of cycle.logs) {
      signal?.throwIfAborted();
      const counted = countBytes(outgoing.encode(), (n) => (logBytes += n), signal);
      try {
        await this.storage.receive(counted);
      } catch (error) {
        // The replica already has this cycle: its earlier acknowledgement was lost on the way back.
        if (!isStorageError(error, 'ERR_LOG_DUPLICATE')) throw error;
      }
    }
    // Stored durably is acknowledged (DESIGN §3 step 7): a failed apply stays in incoming/ and is
    // retried with the next delivery; it must not make the primary resend what the replica holds.
    if (this.options.applyOnReceive ?? true) await this.applyAndSeal();
    return { generation: cycle.generation, sequence: cycle.sequence, logBytes };
  }

  /** Applies what is pending and seals a point when due; failures are logged and retried later. */
  async applyAndSeal(): Promise<void> {
    try {
      const applied = await this.storage.applyPending();
      this.sealed.push(...applied.sealed);
      const point = await this.storage.sealIfDue();
      if (point) this.sealed.push(point);
    } catch (error) {
      this.lastApplyError = error;
      log.warn('applying received logs failed; they stay in incoming/ and are applied with the next delivery', { vmId: this.storage.vmId, error: (error as Error).message });
      return;
    }
    this.lastApplyError = undefined;
  }
}

async function* countBytes(source: AsyncIterable<Buffer>, add: (n: number) => void, signal?: AbortSignal): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    signal?.throwIfAborted();
    add(chunk.length);
    yield chunk;
  }
}
