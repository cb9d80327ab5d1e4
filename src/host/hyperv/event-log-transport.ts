/**
 * A winston transport that writes warnings and errors to the Windows Application event log under an
 * event source that `hvreplica service install` registered, so that an administrator sees replication
 * problems where Windows services report theirs. `service run` passes the source to the role it starts in
 * HVR_EVENT_LOG_SOURCE; the logging setup adds this transport when that variable is set on Windows.
 */
import winston from 'winston';
import { hypervBinding } from './native.js';

export type EventLevel = 0 | 1 | 2;
export type EventWriter = (source: string, level: EventLevel, eventId: number, message: string) => void;

/** Event ids by severity, stable so that administrators can filter on them. */
export const EVENT_IDS = { error: 1000, warn: 2000, info: 3000 } as const;

export interface EventLogTransportOptions {
  source: string;
  /** Lowest level written (default 'warn'): the event log is for what needs attention. */
  level?: string;
  /** Defaults to the addon's ReportEventW. */
  write?: EventWriter;
}

// winston's typings call the base class `transport`, its runtime `Transport`.
const TransportBase = (winston as unknown as { Transport: new (options?: { level?: string }) => winston.transport }).Transport;

export class EventLogTransport extends TransportBase {
  private readonly source: string;
  private readonly writer: EventWriter;
  private failed = false;

  constructor(options: EventLogTransportOptions) {
    super({ level: options.level ?? 'warn' });
    this.source = options.source;
    this.writer = options.write ?? ((source, level, id, message) => hypervBinding().reportEvent(source, level, id, message));
  }

  override log(info: { level: string; message: unknown; component?: unknown; [key: string]: unknown }, callback: () => void): void {
    if (!this.failed) {
      const severity: EventLevel = info.level === 'error' ? 0 : info.level === 'warn' ? 1 : 2;
      const id = severity === 0 ? EVENT_IDS.error : severity === 1 ? EVENT_IDS.warn : EVENT_IDS.info;
      const component = typeof info.component === 'string' ? `[${info.component}] ` : '';
      const text = `${component}${String(info.message)}`;
      try {
        // The event log truncates very long strings (31 839 characters); keep well below.
        this.writer(this.source, severity, id, text.length > 30000 ? `${text.slice(0, 30000)}…` : text);
      } catch (error) {
        // Logging must never fail the work it describes; the file log still has everything.
        this.failed = true;
        process.stderr.write(`hvreplica: the Application event log is unavailable (${(error as Error).message}); logging to the file only\n`);
      }
    }
    callback();
  }
}
