// qemu-img/qemu-io are an independent VHDX implementation: files they create and write (several block
// sizes, random writes, write-zeroes, discards) read identically through the engine; files the engine
// creates and writes pass `qemu-img check` and `qemu-img compare` against the expected raw content.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createDisk, openDisk, type VhdxDiskType } from '../../src/vhdx/index.js';
import { diskSha256, libvhdiScript, MiB, prng, randomInt, requireLibvhdi, requireTool, run, runStatus, scratch } from './helpers.js';

const SIZE = 40 * MiB;

function sha(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

describe('files written by qemu read identically through the engine', () => {
  const dir = scratch('qemu-read');
  after(() => dir.cleanup());

  const variants = [
    { name: 'dynamic-1M-zero', opts: 'block_size=1M' },
    { name: 'dynamic-8M-notpresent', opts: 'block_size=8M,block_state_zero=off' },
    { name: 'dynamic-32M', opts: 'block_size=32M,log_size=2M' },
    { name: 'fixed-2M', opts: 'subformat=fixed,block_size=2M,block_state_zero=off' },
  ];
  for (const [i, v] of variants.entries()) {
    it(`${v.name}: random writes, write-zeroes and discards`, async () => {
      requireTool('qemu-img');
      requireTool('qemu-io');
      const path = join(dir.path, `${v.name}.vhdx`);
      run('qemu-img', ['create', '-q', '-f', 'vhdx', '-o', v.opts, path, String(SIZE)]);
      const next = prng(1000 + i);
      const cmds: string[] = [];
      for (let k = 0; k < 40; k++) {
        const off = randomInt(next, SIZE - 300_000);
        const len = 1 + randomInt(next, 300_000);
        const kind = randomInt(next, 10);
        if (kind < 7) cmds.push('-c', `write -P 0x${(1 + randomInt(next, 254)).toString(16)} ${off} ${len}`);
        else if (kind < 9) cmds.push('-c', `write -z ${off - (off % 512)} ${len - (len % 512) + 512}`);
        else cmds.push('-c', `discard ${off - (off % MiB)} ${MiB}`);
      }
      run('qemu-io', ['-f', 'vhdx', ...cmds, path]);
      const raw = join(dir.path, `${v.name}.raw`);
      run('qemu-img', ['convert', '-f', 'vhdx', '-O', 'raw', path, raw]);
      const expected = sha(readFileSync(raw));
      const disk = await openDisk(path);
      try {
        assert.equal(disk.info.virtualSize, SIZE);
        assert.equal(await diskSha256(disk), expected);
        // Unaligned reads cross block and sector boundaries.
        const whole = readFileSync(raw);
        for (let k = 0; k < 20; k++) {
          const off = randomInt(next, SIZE - 5 * MiB);
          const len = 1 + randomInt(next, 5 * MiB);
          assert.ok((await disk.read(off, len)).equals(whole.subarray(off, off + len)), `read at ${off}+${len}`);
        }
      } finally {
        await disk.close();
      }
    });
  }
});

describe('files written by the engine pass qemu-img check and compare', () => {
  const dir = scratch('qemu-check');
  after(() => dir.cleanup());

  const cases: { type: VhdxDiskType; blockSize: number; lss: 512 | 4096 }[] = [
    { type: 'dynamic', blockSize: 1 * MiB, lss: 512 },
    { type: 'dynamic', blockSize: 32 * MiB, lss: 512 },
    { type: 'dynamic', blockSize: 256 * MiB, lss: 512 },
    { type: 'fixed', blockSize: 2 * MiB, lss: 512 },
    { type: 'dynamic', blockSize: 4 * MiB, lss: 4096 },
  ];
  for (const [i, c] of cases.entries()) {
    it(`${c.type}, block ${c.blockSize / MiB} MiB, ${c.lss}-byte sectors`, async () => {
      requireTool('qemu-img');
      const path = join(dir.path, `ours-${i}.vhdx`);
      await createDisk(path, { type: c.type, virtualSize: SIZE, blockSize: c.blockSize, logicalSectorSize: c.lss });
      const expected = Buffer.alloc(SIZE);
      const next = prng(2000 + i);
      const disk = await openDisk(path, { writable: true });
      const guidsBefore = { data: disk.info.dataWriteGuid, file: disk.info.fileWriteGuid };
      for (let k = 0; k < 120; k++) {
        const off = randomInt(next, SIZE - 200_000);
        const len = 1 + randomInt(next, 200_000);
        const kind = randomInt(next, 12);
        if (kind < 10) {
          const data = Buffer.alloc(len, 1 + randomInt(next, 255));
          data.writeUInt32LE(k, 0);
          await disk.write(off, data);
          data.copy(expected, off);
        } else {
          const aligned = off - (off % c.lss);
          const alen = Math.min(SIZE - aligned, (len - (len % c.lss)) + 3 * c.blockSize);
          if (kind === 10) await disk.zero(aligned, alen);
          else await disk.trim(aligned, alen);
          expected.fill(0, aligned, aligned + alen);
        }
        if (k % 40 === 39) await disk.flush();
      }
      await disk.close();
      const raw = join(dir.path, `ours-${i}.raw`);
      writeFileSync(raw, expected);
      if (c.lss === 512) {
        const check = runStatus('qemu-img', ['check', '-f', 'vhdx', path]);
        assert.equal(check.status, 0, `qemu-img check: ${check.out}`);
        const compare = runStatus('qemu-img', ['compare', '-f', 'vhdx', '-F', 'raw', path, raw]);
        assert.equal(compare.status, 0, `qemu-img compare: ${compare.out}`);
      } else {
        // qemu refuses 4K logical sectors (ENOTSUP); libvhdi is the independent reader for them.
        requireLibvhdi();
        assert.equal(run('/usr/bin/python3', [libvhdiScript, path]).trim(), sha(expected));
      }
      const reopened = await openDisk(path);
      try {
        assert.equal(await diskSha256(reopened), sha(expected));
        assert.notEqual(reopened.info.dataWriteGuid, guidsBefore.data, 'DataWriteGuid must change after writes');
        assert.notEqual(reopened.info.fileWriteGuid, guidsBefore.file, 'FileWriteGuid must change in a writable session');
        assert.equal(reopened.info.logReplayed, false);
      } finally {
        await reopened.close();
      }
    });
  }

  it('a writable open that changes nothing keeps both GUIDs and the file bytes', async () => {
    const path = join(dir.path, 'untouched.vhdx');
    await createDisk(path, { type: 'dynamic', virtualSize: 8 * MiB });
    const before = sha(readFileSync(path));
    const disk = await openDisk(path, { writable: true });
    await disk.read(0, 4096);
    await disk.flush();
    await disk.close();
    assert.equal(sha(readFileSync(path)), before);
  });
});
