// Run by wine-vhdx.test.ts inside Windows node.exe under Wine: creates, writes, chains, maps and merges
// VHDX files through the win32 build (Win32 file I/O, backslash paths), hashes the result's blocks, and writes
// what it saw as JSON.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDisk, mergeDisk, openDisk } from '../../src/vhdx/index.js';

async function main(): Promise<Record<string, unknown>> {
  const dir = process.argv[3]!;
  const MiB = 1024 * 1024;
  const base = join(dir, 'base.vhdx');
  const child = join(dir, 'child.avhdx');
  await createDisk(base, { type: 'dynamic', virtualSize: 8 * MiB, blockSize: MiB });
  const b = await openDisk(base, { writable: true });
  await b.write(4096, Buffer.alloc(8192, 0x5a));
  await b.close();
  await createDisk(child, { type: 'differencing', parentPath: base });
  const c = await openDisk(child, { writable: true });
  await c.write(8192, Buffer.alloc(512, 0x11));
  await c.close();
  const r = await openDisk(child);
  const bytes = await r.read(0, 16384);
  const layer = await r.map({ layerOnly: true });
  const info = r.info;
  await r.close();
  await mergeDisk(child);
  const m = await openDisk(base);
  const merged = await m.read(0, 16384);
  // The fused read-and-hash of both manifest hashes (the resync's comparison) through the win32 build.
  const hashed = { blake3: (await m.hashBlocks('blake3', 0, 16384, 4096)).toString('hex'), xxh128: (await m.hashBlocks('xxh128', 0, 16384, 4096)).toString('hex') };
  await m.close();
  // Writes past the cache (FILE_FLAG_NO_BUFFERING on a second handle, beside the buffered one): pieces at odd
  // addresses and lengths, an unaligned head and tail, read back before and after a reopen.
  const staged = join(dir, 'staged.vhdx');
  await createDisk(staged, { type: 'dynamic', virtualSize: 8 * MiB, blockSize: MiB });
  const s = await openDisk(staged, { writable: true, unbufferedWrites: true });
  const written = Buffer.alloc(2 * MiB + 100);
  for (let i = 0; i < written.length; i++) written[i] = (i * 7 + (i >> 11)) & 0xff;
  const pieces: Buffer[] = [];
  for (let at = 0; at < written.length; at += 16393) pieces.push(written.subarray(at, at + 16393));
  await s.write(MiB - 512, pieces);
  const unbuffered = { used: s.writesUnbuffered(), sameBeforeClose: (await s.read(MiB - 512, written.length)).equals(written), sameAfterReopen: false };
  await s.close();
  const sr = await openDisk(staged);
  unbuffered.sameAfterReopen = (await sr.read(MiB - 512, written.length)).equals(written);
  await sr.close();
  let missing = '';
  try {
    await openDisk(join(dir, 'nope.vhdx'));
  } catch (e) {
    missing = (e as { code: string }).code;
  }
  return {
    platform: process.platform,
    chain: info.chain,
    relativePath: info.parentLocator?.relativePath,
    read: [bytes[0], bytes[4096], bytes[8192], bytes[8704], bytes[12287], bytes[12288]],
    layer,
    merged: [merged[4096], merged[8192], merged[8704]],
    mergedHex: merged.toString('hex'),
    hashed,
    unbuffered,
    missing,
  };
}

main()
  .then((result) => writeFileSync(process.argv[2]!, JSON.stringify(result)))
  .catch((e: unknown) => writeFileSync(process.argv[2]!, JSON.stringify({ failure: String((e as Error).stack ?? e) })));
