import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogHeader } from '../../src/protocol/log-format.js';
import { acceptLog } from '../../src/storage/log-acceptance.js';
import type { StoredState } from '../../src/storage/replica-state.js';

const VM = '11111111-2222-3333-4444-555555555555';
const D1 = 'aaaaaaaa-0000-0000-0000-000000000001';
const D2 = 'aaaaaaaa-0000-0000-0000-000000000002';
const MiB = 1024 * 1024;

type S = Parameters<typeof acceptLog>[0];

function state(overrides: Partial<StoredState> = {}): S {
  return {
    vmId: VM,
    disks: [
      { diskId: D1, virtualSize: 4 * MiB, logicalSectorSize: 512 },
      { diskId: D2, virtualSize: 2 * MiB, logicalSectorSize: 512 },
    ],
    position: null,
    referencePoint: '',
    lastBaseReferencePoint: '',
    pending: [],
    ...overrides,
  };
}

function header(overrides: Partial<LogHeader> = {}): LogHeader {
  return {
    formatVersion: 1,
    recordHash: 'sha256',
    vmId: VM,
    diskId: D1,
    generation: 1,
    sequence: 0,
    baseReferencePoint: '',
    newReferencePoint: 'p0',
    virtualSize: 4 * MiB,
    logicalSectorSize: 512,
    consistency: 'crash',
    ...overrides,
  };
}

const code = (c: string) => (error: { code?: string }) => error.code === c;
const at = (generation: number, sequence: number, referencePoint: string, lastBase = '') =>
  state({ position: { generation, sequence }, referencePoint, lastBaseReferencePoint: lastBase });

describe('acceptLog', () => {
  it('accepts a full copy at sequence 0 on a new replica and refuses a delta there', () => {
    assert.equal(acceptLog(state(), header()).kind, 'next');
    assert.throws(() => acceptLog(state(), header({ sequence: 1, baseReferencePoint: 'x' })), code('ERR_LOG_OUT_OF_SEQUENCE'));
  });

  it('accepts the next sequence only when its base is the replica reference point', () => {
    assert.equal(acceptLog(at(1, 0, 'p0'), header({ sequence: 1, baseReferencePoint: 'p0', newReferencePoint: 'p1' })).kind, 'next');
    assert.throws(() => acceptLog(at(1, 0, 'p0'), header({ sequence: 1, baseReferencePoint: 'other', newReferencePoint: 'p1' })), code('ERR_LOG_OUT_OF_SEQUENCE'));
    assert.throws(() => acceptLog(at(1, 0, 'p0'), header({ sequence: 2, baseReferencePoint: 'p0', newReferencePoint: 'p2' })), code('ERR_LOG_OUT_OF_SEQUENCE'));
  });

  it('calls only the exact last applied cycle a duplicate; anything older is out of sequence', () => {
    assert.throws(() => acceptLog(at(1, 3, 'p3', 'p2'), header({ sequence: 3, baseReferencePoint: 'p2', newReferencePoint: 'p3' })), code('ERR_LOG_DUPLICATE'));
    // An older log may carry other content: calling it a duplicate would let the primary take it as acknowledged.
    assert.throws(() => acceptLog(at(1, 3, 'p3', 'p2'), header({ sequence: 2, baseReferencePoint: 'p1', newReferencePoint: 'p2' })), code('ERR_LOG_OUT_OF_SEQUENCE'));
  });

  it('lets a resend of the last cycle with the same base supersede it (lost acknowledgement)', () => {
    assert.equal(acceptLog(at(1, 3, 'p3', 'p2'), header({ sequence: 3, baseReferencePoint: 'p2', newReferencePoint: 'p3b' })).kind, 'supersede');
    assert.throws(() => acceptLog(at(1, 3, 'p3', 'p2'), header({ sequence: 3, baseReferencePoint: 'p1', newReferencePoint: 'p3b' })), code('ERR_LOG_OUT_OF_SEQUENCE'));
  });

  it('accepts a full copy of a newer generation (after tracking was lost), not of an older one', () => {
    assert.equal(acceptLog(at(1, 7, 'p7'), header({ generation: 2, sequence: 0, newReferencePoint: 'q0' })).kind, 'next');
    assert.throws(() => acceptLog(at(2, 1, 'q1'), header({ generation: 1, sequence: 0, newReferencePoint: 'old' })), code('ERR_LOG_OUT_OF_SEQUENCE'));
    assert.throws(() => acceptLog(at(1, 7, 'p7'), header({ generation: 2, sequence: 0, baseReferencePoint: 'p7' })), code('ERR_LOG_OUT_OF_SEQUENCE'));
  });

  it('joins the other disks of a cycle and replaces an unfinished cycle resent with a newer point', () => {
    const pending = [{ generation: 1, sequence: 1, consistency: 'crash' as const, baseReferencePoint: 'p0', newReferencePoint: 'p1', logs: { [D1]: `${D1}.hvrlog` } }];
    const s = state({ position: { generation: 1, sequence: 0 }, referencePoint: 'p0', pending });
    assert.equal(acceptLog(s, header({ diskId: D2, virtualSize: 2 * MiB, sequence: 1, baseReferencePoint: 'p0', newReferencePoint: 'p1' })).kind, 'join');
    assert.equal(acceptLog(s, header({ sequence: 1, baseReferencePoint: 'p0', newReferencePoint: 'p1b' })).kind, 'replace');
    assert.throws(() => acceptLog(s, header({ sequence: 1, baseReferencePoint: 'elsewhere', newReferencePoint: 'p1b' })), code('ERR_LOG_OUT_OF_SEQUENCE'));
    assert.throws(() => acceptLog(s, header({ diskId: D2, virtualSize: 2 * MiB, sequence: 1, baseReferencePoint: 'p0', newReferencePoint: 'p1', consistency: 'application' })), code('ERR_LOG_OUT_OF_SEQUENCE'));
  });

  it('refuses a log of another VM, an unknown disk or another geometry', () => {
    assert.throws(() => acceptLog(state(), header({ vmId: '99999999-2222-3333-4444-555555555555' })), code('ERR_LOG_MISMATCH'));
    assert.throws(() => acceptLog(state(), header({ diskId: 'bbbbbbbb-0000-0000-0000-000000000001' })), code('ERR_LOG_MISMATCH'));
    assert.throws(() => acceptLog(state(), header({ virtualSize: 8 * MiB })), /resize the replica disk/);
  });
});
