/**
 * isPathWithin (src/util/path-within.ts): the check that a VM's disks lie in a folder before its VM is
 * unregistered and the folder deleted. On Windows the same folder may be spelled in another case or with
 * other separators (Hyper-V reports paths as it stores them), and must still be recognised.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPathWithin } from '../../src/util/path-within.js';

describe('isPathWithin', () => {
  it('on Windows: case and separators do not matter, `..` is resolved', () => {
    const folder = 'C:\\ProgramData\\hvreplica\\kept-replicas\\6F1D2A3B';
    assert.ok(isPathWithin('c:/programdata/HVREPLICA/kept-replicas/6f1d2a3b/disks/a.vhdx', folder, 'win32'));
    assert.ok(isPathWithin(folder.toLowerCase(), folder, 'win32'));
    assert.ok(!isPathWithin('C:\\ProgramData\\hvreplica\\kept-replicas\\6F1D2A3B\\..\\other\\a.vhdx', folder, 'win32'));
    assert.ok(!isPathWithin('C:\\ProgramData\\hvreplica\\kept-replicas\\6F1D2A3B-2\\a.vhdx', folder, 'win32'));
    assert.ok(!isPathWithin('D:\\ProgramData\\hvreplica\\kept-replicas\\6F1D2A3B\\a.vhdx', folder, 'win32'));
  });

  it('elsewhere: case matters, a sibling with the same prefix is not inside', () => {
    assert.ok(isPathWithin('/var/lib/hvr/kept/vm/disks/a.vhdx', '/var/lib/hvr/kept/vm/'));
    assert.ok(!isPathWithin('/var/lib/hvr/kept/VM/disks/a.vhdx', '/var/lib/hvr/kept/vm', 'linux'));
    assert.ok(!isPathWithin('/var/lib/hvr/kept/vm2/a.vhdx', '/var/lib/hvr/kept/vm', 'linux'));
    assert.ok(!isPathWithin('/var/lib/hvr/kept/vm/../x/a.vhdx', '/var/lib/hvr/kept/vm', 'linux'));
  });
});
