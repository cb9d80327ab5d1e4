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
    missing,
  };
}

main()
  .then((result) => writeFileSync(process.argv[2]!, JSON.stringify(result)))
  .catch((e: unknown) => writeFileSync(process.argv[2]!, JSON.stringify({ failure: String((e as Error).stack ?? e) })));
