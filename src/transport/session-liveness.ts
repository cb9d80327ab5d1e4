/**
 * Notices a replica server that stopped answering while requests wait on it. A connection that dies
 * without a reset (a NAT or firewall dropping its state, a cable pulled, a peer that froze) leaves the TLS
 * socket open and an upload waiting forever for flow-control credit or an answer; TCP would notice only
 * after its keep-alive (hours by default). So while a request is in flight the session is pinged, and when
 * for `timeoutMs` neither a ping was answered nor a request made progress, the session ends: the waiting
 * requests fail as a lost connection, which the uploader retries on a new one, resuming at the server's
 * offset. Progress counts because on a slow link a ping waits behind a flow-control window of data.
 */
import type { ClientHttp2Session } from 'node:http2';
import { destroySessionSoon } from './session-teardown.js';

export interface LivenessOptions {
  /** How often an HTTP/2 PING goes out while requests are in flight (default 10 s). */
  intervalMs?: number;
  /** How long a PING may stay unanswered before the session counts as dead (default 30 s). */
  timeoutMs?: number;
}

export const DEFAULT_LIVENESS: Required<LivenessOptions> = { intervalMs: 10_000, timeoutMs: 30_000 };

export class SessionLiveness {
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private pingSentAt: number | undefined;
  private lastProgressAt = 0;
  /** Why the session was ended, once it was; the requests it failed report this. */
  lostReason: string | undefined;

  constructor(
    private readonly session: ClientHttp2Session,
    private readonly options: Required<LivenessOptions>,
  ) {
    session.once('close', () => this.stop());
  }

  /** A request starts; the returned function ends it (called once, whatever the outcome). */
  track(): () => void {
    this.inFlight += 1;
    if (!this.timer && this.inFlight === 1) {
      this.timer = setInterval(() => this.tick(), Math.min(this.options.intervalMs, this.options.timeoutMs));
      this.timer.unref();
    }
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight -= 1;
      if (this.inFlight === 0) this.stop();
    };
  }

  /** A request moved bytes (the server took body bytes past its window, or answered some): it is alive. */
  progress(): void {
    this.lastProgressAt = Date.now();
  }

  private tick(): void {
    if (this.session.destroyed || this.session.closed) return this.stop();
    const now = Date.now();
    if (this.pingSentAt !== undefined) {
      if (now - Math.max(this.pingSentAt, this.lastProgressAt) < this.options.timeoutMs) return;
      const silence = this.options.timeoutMs >= 1000 ? `${Math.round(this.options.timeoutMs / 1000)} s` : `${this.options.timeoutMs} ms`;
      this.lostReason = `the replica server has not answered for ${silence} (an HTTP/2 ping went unanswered and no bytes moved): the connection is dead`;
      this.stop();
      destroySessionSoon(this.session);
      return;
    }
    this.pingSentAt = now;
    const sent = this.session.ping((error) => {
      // An error here is the session ending, which fails the requests by itself.
      if (!error) this.pingSentAt = undefined;
    });
    if (!sent) this.pingSentAt = undefined;
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.pingSentAt = undefined;
  }
}
