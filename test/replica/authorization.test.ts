import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addEntry, findAuthorization, makeEntry, patternMatches, removeEntries, ReplicaError, setEntry, type AuthorizationEntry } from '../../src/replica/index.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ReplicaError, String(error));
    return error.code;
  }
  assert.fail('expected a ReplicaError');
}

describe('authorization entries (Hyper-V rules)', () => {
  it('accepts FQDNs, *.domain and *; refuses IPs, bare names and inner wildcards', () => {
    assert.equal(makeEntry('HV1.Contoso.COM.', '/srv/r', 'g').AllowedPrimaryServer, 'hv1.contoso.com');
    assert.equal(makeEntry('*.contoso.com', '/srv/r', 'g').AllowedPrimaryServer, '*.contoso.com');
    assert.equal(makeEntry('*', '/srv/r', 'g').AllowedPrimaryServer, '*');
    for (const bad of ['10.0.0.1', '::1', 'hv1', 'hv1.*.com', '*contoso.com', '-a.contoso.com', 'a_b.contoso.com', '']) {
      assert.equal(code(() => makeEntry(bad, '/srv/r', 'g')), 'ERR_INVALID_ARGUMENT', bad);
    }
  });

  it('refuses relative storage locations and empty trust groups', () => {
    assert.equal(code(() => makeEntry('a.b.c', 'relative/dir', 'g')), 'ERR_INVALID_ARGUMENT');
    assert.equal(code(() => makeEntry('a.b.c', '/srv', '  ')), 'ERR_INVALID_ARGUMENT');
    assert.equal(code(() => makeEntry('a.b.c', '/srv', 'bad\u0007group')), 'ERR_INVALID_ARGUMENT');
    assert.equal(makeEntry('a.b.c', '/srv/x/../y', 'g').ReplicaStorageLocation, '/srv/y');
  });

  it('keeps * exclusive and names unique', () => {
    const one = addEntry([], makeEntry('hv1.contoso.com', '/srv/a', 'g1'));
    assert.equal(code(() => addEntry(one, makeEntry('*', '/srv/any', 'DEFAULT'))), 'ERR_INVALID_STATE');
    assert.equal(code(() => addEntry(one, makeEntry('HV1.contoso.com', '/srv/b', 'g2'))), 'ERR_ALREADY_EXISTS');
    const any = addEntry([], makeEntry('*', '/srv/any', 'DEFAULT'));
    assert.equal(code(() => addEntry(any, makeEntry('hv1.contoso.com', '/srv/a', 'g1'))), 'ERR_INVALID_STATE');
  });

  it('sets and removes entries, by server or trust group', () => {
    let entries: AuthorizationEntry[] = [];
    entries = addEntry(entries, makeEntry('hv1.contoso.com', '/srv/a', 'g1'));
    entries = addEntry(entries, makeEntry('hv2.contoso.com', '/srv/a', 'g1'));
    entries = addEntry(entries, makeEntry('*.fabrikam.com', '/srv/f', 'g2'));
    entries = setEntry(entries, 'HV2.contoso.com', { TrustGroup: 'g3' });
    assert.equal(entries[1]?.TrustGroup, 'g3');
    assert.equal(code(() => setEntry(entries, 'hv9.contoso.com', { TrustGroup: 'x' })), 'ERR_NOT_FOUND');
    assert.equal(code(() => setEntry(entries, 'hv1.contoso.com', {})), 'ERR_INVALID_ARGUMENT');
    const byGroup = removeEntries(entries, { TrustGroup: 'G1' });
    assert.deepEqual(byGroup.removed.map((e) => e.AllowedPrimaryServer), ['hv1.contoso.com']);
    assert.equal(byGroup.kept.length, 2);
    assert.equal(code(() => removeEntries(entries, { AllowedPrimaryServer: 'nobody.contoso.com' })), 'ERR_NOT_FOUND');
  });

  it('matches certificate names: exact, *.domain at any depth, *; first entry wins', () => {
    assert.ok(patternMatches('*.contoso.com', 'HV1.contoso.com'));
    assert.ok(patternMatches('*.contoso.com', 'a.b.contoso.com'));
    assert.ok(!patternMatches('*.contoso.com', 'contoso.com'));
    assert.ok(!patternMatches('*.contoso.com', 'evilcontoso.com'));
    assert.ok(!patternMatches('hv1.contoso.com', 'hv1.contoso.com.evil.net'));
    const entries = [makeEntry('hv1.contoso.com', '/srv/hv1', 'one'), makeEntry('*.contoso.com', '/srv/all', 'all')];
    assert.equal(findAuthorization(entries, ['hv1.contoso.com'])?.TrustGroup, 'one');
    assert.equal(findAuthorization(entries, ['x.example', 'hv2.contoso.com'])?.TrustGroup, 'all');
    assert.equal(findAuthorization(entries, ['hv1.fabrikam.com']), undefined);
  });
});
