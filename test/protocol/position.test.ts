import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeGuid, ProtocolArgumentError, ReplicationPosition } from '../../src/protocol/index.js';

describe('ReplicationPosition', () => {
  it('prints, parses and compares', () => {
    const p = new ReplicationPosition(2, 7, 4096);
    assert.equal(p.toString(), '2/7@4096');
    assert.ok(ReplicationPosition.parse('2/7@4096').equals(p));
    assert.ok(ReplicationPosition.parse('2/7').equals(p.withOffset(0)));
    assert.ok(p.compare(new ReplicationPosition(2, 8)) < 0);
    assert.ok(p.compare(new ReplicationPosition(1, 99)) > 0);
    assert.ok(ReplicationPosition.ZERO.isZero());
    assert.deepEqual(JSON.parse(JSON.stringify(p)), { generation: 2, sequence: 7, offset: 4096 });
  });

  it('accepts only the next log or the first log of a newer generation', () => {
    const p = new ReplicationPosition(2, 7);
    assert.ok(p.acceptsLog(2, 8));
    assert.ok(!p.acceptsLog(2, 7));
    assert.ok(!p.acceptsLog(2, 9));
    assert.ok(p.acceptsLog(3, 1));
    assert.ok(!p.acceptsLog(3, 2));
    assert.ok(!p.acceptsLog(1, 8));
  });

  it('refuses invalid values', () => {
    assert.throws(() => new ReplicationPosition(-1, 0), ProtocolArgumentError);
    assert.throws(() => new ReplicationPosition(1.5, 0), ProtocolArgumentError);
    assert.throws(() => ReplicationPosition.parse('x/y'), ProtocolArgumentError);
  });

  it('normalises GUIDs the way Windows prints them', () => {
    assert.equal(normalizeGuid('{5D1E4C2A-9B3F-4E6D-8A7C-0F1E2D3C4B5A}'), '5d1e4c2a-9b3f-4e6d-8a7c-0f1e2d3c4b5a');
    assert.throws(() => normalizeGuid('../../etc/passwd'), /not a GUID/);
  });
});
