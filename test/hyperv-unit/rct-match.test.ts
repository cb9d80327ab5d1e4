/** Which RCT id of the previous reference point belongs to which disk of the new checkpoint. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hypervBinding } from '../../src/host/hyperv/native.js';

const OLD_VM = 'Microsoft:0D2C4A5E-1B7F-4C3D-9E8A-6F5B4C3D2E1A';
const SNAP = 'Microsoft:9A8B7C6D-0000-4000-8000-000000000001';
const DEV = '83F8638B-8DCA-4152-9EDA-2CA8B33039B4';
const RCT_A = 'rctX:5bfde23b:ce75:4303:b54f:6c18394f105c:00000003';
const RCT_B = 'rctX:11111111:2222:3333:4444:555555555555:00000007';

const previous = {
  instanceId: 'Microsoft:RP1',
  virtualDiskIds: [`${OLD_VM}\\${DEV}\\0\\0\\L`, `${OLD_VM}\\${DEV}\\0\\1\\L`],
  rctIds: [RCT_A, RCT_B],
};

test('disks match by controller slot even though the owner GUID differs (VM vs checkpoint)', () => {
  const m = hypervBinding().matchRctIds(previous, [
    { instanceId: `${SNAP}\\${DEV}\\0\\1\\L` },
    { instanceId: `${SNAP.toLowerCase()}\\${DEV.toLowerCase()}\\0\\0\\l` },
  ]);
  assert.deepEqual(m, [
    { rctId: RCT_B, rule: 'device-key' },
    { rctId: RCT_A, rule: 'device-key' },
  ]);
});

test('a disk moved to another slot is matched by the GUID of its change-tracking log', () => {
  const m = hypervBinding().matchRctIds(previous, [
    { instanceId: `${SNAP}\\${DEV}\\1\\0\\L`, currentRctId: 'rctX:11111111:2222:3333:4444:555555555555:00000009' },
  ]);
  assert.deepEqual(m, [{ rctId: RCT_B, rule: 'tracking-guid' }]);
});

test('no safe match means no id (resync), never another disk\'s id', () => {
  const m = hypervBinding().matchRctIds(previous, [
    { instanceId: `${SNAP}\\${DEV}\\1\\0\\L` },
    { instanceId: `${SNAP}\\${DEV}\\1\\1\\L`, currentRctId: 'rctX:99999999:2222:3333:4444:555555555555:00000001' },
  ]);
  assert.equal(m[0]!.rctId, null);
  assert.equal(m[0]!.rule, 'none');
  assert.match(m[0]!.reason!, /controller slot/);
  assert.equal(m[1]!.rctId, null);
});

test('two disks claiming the same entry both get none', () => {
  const m = hypervBinding().matchRctIds(previous, [
    { instanceId: `${SNAP}\\${DEV}\\0\\0\\L` },
    { instanceId: `${SNAP}\\${DEV}\\2\\0\\L`, currentRctId: RCT_A },
  ]);
  assert.deepEqual(m.map((x) => x.rctId), [null, null]);
  assert.match(m[0]!.reason!, /same entry/);
});

test('a reference point whose lists differ in length is refused', () => {
  assert.throws(
    () => hypervBinding().matchRctIds({ instanceId: 'rp', virtualDiskIds: ['a'], rctIds: [] }, [{ instanceId: 'a' }]),
    (e: any) => e.code === 'ERR_INVALID_ARGUMENT' && /1 disk identifiers but 0 RCT identifiers/.test(e.message),
  );
});
