// The Windows x64 build of the VHDX engine, run in Windows node.exe under Wine: the same create / write /
// differencing / map / merge sequence works through Win32 file I/O and Windows paths. Loads
// HVR_WIN_ADDON (default: prebuilds/win32-x64/hvreplica.node, made by npm run build:win).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blake3Blocks } from '../../src/native/blake3.js';
import { xxh128Blocks } from '../../src/native/xxh128.js';
import { runUnderWine } from '../helpers/wine.js';

describe('VHDX engine of the Windows addon under Wine', () => {
  it('creates, writes, chains, maps, merges and hashes (BLAKE3, XXH3-128) like the Linux build', async () => {
    const { outcome: r, scratch: dir } = runUnderWine({ script: 'vhdx/wine-vhdx.js' });
    assert.equal(r.failure, undefined, String(r.failure));
    assert.equal(r.platform, 'win32');
    assert.deepEqual(r.chain, [`${dir}\\child.avhdx`, `${dir}\\base.vhdx`]);
    assert.equal(r.relativePath, '.\\base.vhdx');
    assert.deepEqual(r.read, [0, 0x5a, 0x11, 0x5a, 0x5a, 0]);
    assert.deepEqual(r.layer, [
      { offset: 0, length: 8192, state: 'absent' },
      { offset: 8192, length: 512, state: 'data' },
      { offset: 8704, length: 8 * 1024 * 1024 - 8704, state: 'absent' },
    ]);
    assert.deepEqual(r.merged, [0x5a, 0x11, 0x5a]);
    assert.equal(r.missing, 'ERR_NOT_FOUND');
    assert.deepEqual(r.unbuffered, { used: true, sameBeforeClose: true, sameAfterReopen: true }, 'writes past the cache on a second handle');
    const merged = Buffer.from(String(r.mergedHex), 'hex');
    const hashed = r.hashed as { blake3: string; xxh128: string };
    assert.equal(hashed.blake3, (await blake3Blocks(merged, 4096)).toString('hex'), 'BLAKE3 digests of the Windows build equal the Linux build\'s');
    assert.equal(hashed.xxh128, (await xxh128Blocks(merged, 4096)).toString('hex'), 'XXH3-128 digests of the Windows build equal the Linux build\'s');
  });
});
