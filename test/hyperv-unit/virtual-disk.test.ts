/** Frozen-disk reads and replica-disk writes through the virtdisk function table (Raw IO). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hypervBinding } from '../../src/host/hyperv/native.js';
import { FakeRawDisk } from './fake-virtdisk.js';

const api = () => hypervBinding();

test('a frozen disk opens read-only, attaches without a host device, and reads at virtual offsets', async () => {
  const fake = new FakeRawDisk(1 << 20);
  const disk = await api().openDisk({ path: 'D:\\web01\\os.vhdx', readOnly: true }, { virtdisk: fake });
  assert.equal(disk.virtualSize, 1 << 20);
  assert.equal(disk.sectorSize, 512);
  assert.deepEqual(fake.events.slice(0, 2), ['open D:\\web01\\os.vhdx ro=true', `attach ${[...fake.open_][0]} ro=true`]);
  const buf = Buffer.alloc(4096);
  await api().readDisk(disk.id, 8192, buf);
  assert.ok(buf.equals(fake.data.subarray(8192, 8192 + 4096)));
  api().closeDisk(disk.id);
  assert.equal(fake.open_.size, 0, 'closing detaches');
});

test('unaligned reads go through whole sectors and return exactly the bytes asked for', async () => {
  const fake = new FakeRawDisk(64 * 1024);
  fake.maxTransfer = 1024; // the call may transfer less than asked; the loop continues
  const disk = await api().openDisk({ path: 'x.vhdx', readOnly: true }, { virtdisk: fake });
  const buf = Buffer.alloc(3000);
  await api().readDisk(disk.id, 700, buf);
  assert.ok(buf.equals(fake.data.subarray(700, 3700)));
  assert.ok(fake.events.filter((e) => e.startsWith('read')).every((e) => /^read (\d+)\+(\d+)$/.test(e) && Number(e.split(' ')[1]!.split('+')[0]) % 512 === 0));
  await assert.rejects(api().readDisk(disk.id, 64 * 1024 - 10, Buffer.alloc(20)), (e: any) => e.code === 'ERR_INVALID_ARGUMENT' && /beyond the end/.test(e.message));
  api().closeDisk(disk.id);
});

test('a failed attach closes the handle it opened and explains the sharing violation', async () => {
  const fake = new FakeRawDisk(1 << 16);
  fake.attachStatus = 32;
  await assert.rejects(api().openDisk({ path: 'D:\\live.avhdx', readOnly: true }, { virtdisk: fake }), (e: any) => {
    assert.equal(e.code, 'ERR_ACCESS_DENIED');
    assert.equal(e.errno, 32);
    assert.equal(e.syscall, 'AttachVirtualDisk');
    assert.match(e.message, /AttachVirtualDisk failed for 'D:\\live\.avhdx': The process cannot access the file.*\(32\).*reads only frozen disks/);
    return true;
  });
  assert.equal(fake.open_.size, 0, 'no handle leaks');
  assert.ok(fake.events.at(-1)!.startsWith('close'));
});

test('virtdisk errors map to codes an administrator can act on', async () => {
  const fake = new FakeRawDisk(1 << 16);
  fake.openStatus = 2;
  await assert.rejects(api().openDisk({ path: 'gone.vhdx', readOnly: true }, { virtdisk: fake }), (e: any) => e.code === 'ERR_NOT_FOUND' && e.syscall === 'OpenVirtualDisk' && /Win32 error 2 \(2\).*checkpoint removed/.test(e.message));
  fake.openStatus = 618;
  await assert.rejects(api().openDisk({ path: 'c.vhdx', readOnly: true }, { virtdisk: fake }), (e: any) => e.code === 'ERR_NOT_SUPPORTED' && /NTFS-compressed/.test(e.message));
  fake.openStatus = 0xc03a0015;
  await assert.rejects(api().openDisk({ path: 'c.vhdx', readOnly: true }, { virtdisk: fake }), (e: any) => e.code === 'ERR_IO' && /0xC03A0015.*Test-VHD/.test(e.message));
  fake.openStatus = 0;
  const disk = await api().openDisk({ path: 'ok.vhdx', readOnly: true }, { virtdisk: fake });
  fake.readStatus = 23;
  await assert.rejects(api().readDisk(disk.id, 0, Buffer.alloc(512)), (e: any) => e.code === 'ERR_OS' && e.errno === 23 && e.syscall === 'ReadFile');
  api().closeDisk(disk.id);
  await assert.rejects(api().readDisk(disk.id, 0, Buffer.alloc(512)), (e: any) => /already closed/.test(e.message));
});

test('replica disks open read-write; writes must be whole sectors; read-only disks refuse writes', async () => {
  const fake = new FakeRawDisk(1 << 16, 4096);
  const rw = await api().openDisk({ path: 'replica.vhdx', readOnly: false }, { virtdisk: fake });
  assert.ok(fake.events.includes(`attach ${[...fake.open_][0]} ro=false`));
  const block = Buffer.alloc(8192, 0xab);
  await api().writeDisk(rw.id, 4096, block);
  assert.ok(fake.data.subarray(4096, 4096 + 8192).equals(block));
  await assert.rejects(api().writeDisk(rw.id, 512, Buffer.alloc(4096)), (e: any) => e.code === 'ERR_INVALID_ARGUMENT' && /4096-byte sectors/.test(e.message));
  api().closeDisk(rw.id);
  const ro = await api().openDisk({ path: 'frozen.vhdx', readOnly: true }, { virtdisk: fake });
  await assert.rejects(api().writeDisk(ro.id, 0, Buffer.alloc(4096)), (e: any) => e.code === 'ERR_ACCESS_DENIED');
  api().closeDisk(ro.id);
});
