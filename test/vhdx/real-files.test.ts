// Every Hyper-V/qemu/Disk2vhd sample in ../shared/testdata/vhdx-real opens and reads to the sha256
// oracle of its SOURCES.md; the real checkpoint disk's metadata, locator and bitmaps read correctly; the
// two active-log files replay (in memory read-only, in place writable) to what qemu-img gives after
// `qemu-img check -r all`.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkDisk, openDisk } from '../../src/vhdx/index.js';
import { diskSha256, MiB, realSample, requireTool, runStatus, scratch } from './helpers.js';

const ORACLES: Record<string, { size: number; sha256: string; type: string; block: number; lss: number }> = {
  'dynamic.vhdx': { size: 10485760, sha256: '8e2b5e9265d694b42b81819e3bff29770eff4ed0f4f9f311693ff3dbdc93efac', type: 'dynamic', block: 32 * MiB, lss: 512 },
  'fixed.vhdx': { size: 10485760, sha256: 'bc0be4623b15aa84216fb31ba24e3b621ec7f1c72d198c990ac0eced222d9f62', type: 'fixed', block: 2 * MiB, lss: 512 },
  'iotest-dynamic-1G.vhdx': { size: 1073741824, sha256: 'd3d112d8dab7fd360609f7d5a7b769904b7a2a7d7b6b8c535f65a23293c05478', type: 'dynamic', block: 32 * MiB, lss: 512 },
  'test-disk2vhd.vhdx': { size: 268435456, sha256: '96d964042be9b58dda1725567abfb0cf9fd8380e2118754afa979c2ad445938a', type: 'dynamic', block: 2 * MiB, lss: 512 },
  'iotest-dirtylog-10G-4M.vhdx': { size: 10737418240, sha256: '179cefe8b0587f123393eedf2aa7aa8d25798591178e6bc3950a09762f38f96f', type: 'dynamic', block: 1 * MiB, lss: 512 },
  'vhdx-log-replay.vhdx': { size: 1073741824, sha256: '3ba3b309425b7ff5e8e0199edceed95226250f880c53b24e8eae93865f3fad5e', type: 'dynamic', block: 32 * MiB, lss: 512 },
  'swap.vhdx': { size: 10737418240, sha256: '60dd30b4c74361427d1089510cabb36e2eeda0cc4747f467ea43173acd358c49', type: 'dynamic', block: 32 * MiB, lss: 512 },
  'btrfs.vhdx': { size: 1073741824, sha256: '0b959f9cb4e18348ad8b646f152178282542c8304f02fddf765e3fd1a1de6864', type: 'dynamic', block: 32 * MiB, lss: 512 },
  'xfs5.vhdx': { size: 10737418240, sha256: 'edc5d630b2da0ddb08992afb58ded06ffb56b884e184b4974fda16e31b7e6817', type: 'dynamic', block: 32 * MiB, lss: 512 },
  'lvm2.vhdx': { size: 10737418240, sha256: 'f7dc6812a3b12a35f3ec895ce981bd59ff4558270fc80cd812c9cd522bff1295', type: 'dynamic', block: 32 * MiB, lss: 512 },
};
const DIRTY = ['iotest-dirtylog-10G-4M.vhdx', 'vhdx-log-replay.vhdx'];

function fileSha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('real VHDX samples', () => {
  const dir = scratch('real');
  after(() => dir.cleanup());

  for (const [name, oracle] of Object.entries(ORACLES)) {
    it(`${name} reads to its sha256 oracle`, async () => {
      const path = await realSample(name, dir.path);
      const before = DIRTY.includes(name) ? fileSha256(path) : '';
      const disk = await openDisk(path);
      try {
        assert.equal(disk.info.virtualSize, oracle.size);
        assert.equal(disk.info.type, oracle.type);
        assert.equal(disk.info.blockSize, oracle.block);
        assert.equal(disk.info.logicalSectorSize, oracle.lss);
        assert.equal(disk.info.logReplayed, DIRTY.includes(name));
        assert.deepEqual(disk.info.chain, [path]);
        assert.equal(await diskSha256(disk), oracle.sha256);
      } finally {
        await disk.close();
      }
      // A read-only open replays in memory only: the file must not change.
      if (before) assert.equal(fileSha256(path), before, 'a read-only open modified the file');
    });
  }

  it('iotest-dynamic-1G.vhdx shows its known patterns and ZERO blocks in the map', async () => {
    const disk = await openDisk(await realSample('iotest-dynamic-1G.vhdx', dir.path));
    try {
      assert.ok((await disk.read(0, 4096)).every((b) => b === 0xa5));
      assert.ok((await disk.read(33 * MiB, 4096)).every((b) => b === 0x96));
      assert.ok((await disk.read(66 * MiB, 4096)).every((b) => b === 0));
      const map = await disk.map();
      assert.deepEqual(map[0], { offset: 0, length: 96 * MiB, state: 'data' });
      assert.deepEqual(map[1], { offset: 96 * MiB, length: 1024 * MiB - 96 * MiB, state: 'zero' });
    } finally {
      await disk.close();
    }
  });

  it('lvm2.vhdx: UNMAPPED blocks read as zeros and map as zero', async () => {
    const disk = await openDisk(await realSample('lvm2.vhdx', dir.path));
    try {
      const map = await disk.map();
      const covered = map.reduce((sum, e) => sum + e.length, 0);
      assert.equal(covered, disk.info.virtualSize);
      assert.ok(map.some((e) => e.state === 'zero'));
      assert.ok(map.some((e) => e.state === 'data'));
      assert.ok(map.some((e) => e.state === 'absent'));
      const zero = map.find((e) => e.state === 'zero')!;
      assert.ok((await disk.read(zero.offset, Math.min(zero.length, MiB))).every((b) => b === 0));
    } finally {
      await disk.close();
    }
  });

  describe('the real Hyper-V checkpoint disk (differencing.avhdx)', () => {
    let path = '';
    before(async () => {
      path = await realSample('differencing.avhdx', dir.path);
    });

    it('refuses a full open because its parent is not available, naming the locator paths', async () => {
      await assert.rejects(openDisk(path), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_VHDX_PARENT_NOT_FOUND');
        assert.match(e.message, /Generation 1_49C4BAF3-4B25-4406-8C4B-D39E65C32385\.avhdx/);
        return true;
      });
    });

    it('reads its metadata and parent locator', async () => {
      const disk = await openDisk(path, { parents: false });
      try {
        const info = disk.info;
        assert.equal(info.type, 'differencing');
        assert.equal(info.virtualSize, 8 * 1024 * MiB);
        assert.equal(info.blockSize, 2 * MiB);
        assert.equal(info.logicalSectorSize, 512);
        assert.equal(info.physicalSectorSize, 4096);
        assert.equal(info.creator, 'Microsoft Windows 10.0.17763.0');
        const loc = info.parentLocator!;
        assert.equal(loc.parentLinkage, '{ff34003b-11ed-4cf8-a166-b2be05e20b80}');
        assert.equal(loc.parentLinkage2, undefined, 'an all-zero parent_linkage2 counts as absent');
        assert.equal(loc.relativePath, '.\\Generation 1_49C4BAF3-4B25-4406-8C4B-D39E65C32385.avhdx');
        assert.equal(
          loc.absoluteWin32Path,
          'C:\\Users\\Public\\Documents\\Hyper-V\\Virtual hard disks\\Generation 1_49C4BAF3-4B25-4406-8C4B-D39E65C32385.avhdx',
        );
        assert.match(loc.volumePath!, /^\\\\\?\\Volume\{0eba351e-/);
        assert.deepEqual(Object.keys(loc.entries), ['parent_linkage', 'absolute_win32_path', 'relative_path', 'volume_path', 'parent_linkage2']);
        assert.equal(info.parentPath, undefined);
      } finally {
        await disk.close();
      }
    });

    it('maps exactly the sectors its two sector bitmaps mark (5680 + 520)', async () => {
      const disk = await openDisk(path, { parents: false });
      try {
        const layer = await disk.map({ layerOnly: true });
        const data = layer.filter((e) => e.state === 'data');
        assert.equal(data.reduce((s, e) => s + e.length, 0), (5680 + 520) * 512);
        assert.ok(layer.every((e) => e.state !== 'zero'), 'the sample has only PARTIALLY_PRESENT and NOT_PRESENT blocks');
        assert.equal(layer.reduce((s, e) => s + e.length, 0), disk.info.virtualSize);
        const chunk0 = data.filter((e) => e.offset < 4 * 1024 * MiB).reduce((s, e) => s + e.length, 0);
        assert.equal(chunk0, 5680 * 512);
        for (const e of data) assert.equal(e.offset % 512, 0);
        // Present sectors read from the layer; everything else needs the missing parent.
        const first = data[0]!;
        assert.equal((await disk.read(first.offset, first.length)).length, first.length);
        const absent = layer.find((e) => e.state === 'absent')!;
        await assert.rejects(disk.read(absent.offset, 512), { code: 'ERR_VHDX_PARENT_NOT_FOUND' });
      } finally {
        await disk.close();
      }
    });

    it('passes the structural check: 32 partially present blocks, 2 sector bitmaps', async () => {
      const report = await checkDisk(path);
      assert.deepEqual(report.errors, []);
      assert.equal(report.ok, true);
      assert.equal(report.allocatedBlocks, 32);
      assert.equal(report.sectorBitmapBlocks, 2);
    });
  });

  for (const name of DIRTY) {
    it(`${name}: a writable open replays the log in place, to the same content as qemu-img check -r all`, async () => {
      requireTool('qemu-img');
      const ours = await realSample(name, dir.path);
      const theirs = join(dir.path, `qemu-${name}`);
      copyFileSync(ours, theirs);
      const repaired = runStatus('qemu-img', ['check', '-r', 'all', '-f', 'vhdx', theirs]);
      assert.ok(repaired.status === 0, `qemu-img check -r all failed: ${repaired.out}`);
      const disk = await openDisk(ours, { writable: true });
      assert.equal(disk.info.logReplayed, true);
      await disk.close();
      const again = await openDisk(ours);
      const big = again.info.virtualSize > 2 * 1024 * MiB;
      try {
        assert.equal(again.info.logReplayed, false, 'the log must be clean after an in-place replay');
        // The 10 GiB sample was hashed above already; here its replayed block is what matters.
        if (big) assert.ok((await again.read(0, 18 * MiB)).every((b) => b === 0xa5));
        else assert.equal(await diskSha256(again), ORACLES[name]!.sha256);
      } finally {
        await again.close();
      }
      const check = runStatus('qemu-img', ['check', '-f', 'vhdx', ours]);
      assert.equal(check.status, 0, `qemu-img check after our replay: ${check.out}`);
      if (big) {
        requireTool('qemu-io');
        const io = runStatus('qemu-io', ['-r', '-f', 'vhdx', '-c', 'read -P 0xa5 0 18M', '-c', 'read -P 0 18M 46M', ours]);
        assert.equal(io.status, 0, io.out);
        assert.doesNotMatch(io.out, /Pattern verification failed/);
      } else {
        const compare = runStatus('qemu-img', ['compare', '-f', 'vhdx', '-F', 'vhdx', ours, theirs]);
        assert.equal(compare.status, 0, `qemu-img compare: ${compare.out}`);
      }
    });
  }
});
