/** Warnings and errors reach the Application event log with stable ids; a broken event log never breaks logging. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import winston from 'winston';
import { EVENT_IDS, EventLogTransport, type EventLevel } from '../../src/host/hyperv/event-log-transport.js';

test('warn and error go to the event log under the service source; info does not by default', async () => {
  const events: Array<[string, EventLevel, number, string]> = [];
  const transport = new EventLogTransport({ source: 'hvreplica-agent', write: (...e) => void events.push(e) });
  const log = winston.createLogger({ level: 'info', transports: [transport] });
  const child = log.child({ component: 'engine' });
  child.info('cycle done');
  child.warn('application-consistent point fell back to crash-consistent');
  child.error('replica unreachable');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(events, [
    ['hvreplica-agent', 1, EVENT_IDS.warn, '[engine] application-consistent point fell back to crash-consistent'],
    ['hvreplica-agent', 0, EVENT_IDS.error, '[engine] replica unreachable'],
  ]);
});

test('an event log that fails is dropped once, with one note, and logging continues', async () => {
  let calls = 0;
  const transport = new EventLogTransport({
    source: 's',
    level: 'info',
    write: () => {
      calls += 1;
      throw Object.assign(new Error('RegisterEventSourceW failed'), { code: 'ERR_ACCESS_DENIED' });
    },
  });
  const log = winston.createLogger({ transports: [transport] });
  const original = process.stderr.write.bind(process.stderr);
  const notes: string[] = [];
  process.stderr.write = ((chunk: string) => (notes.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    log.error('one');
    log.error('two');
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.stderr.write = original;
  }
  assert.equal(calls, 1);
  assert.equal(notes.filter((n) => n.includes('event log is unavailable')).length, 1);
});
