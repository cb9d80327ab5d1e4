// Child process of crash.test.ts: writes whole 16 KiB slots through the engine forever, announcing each
// operation before it starts ("w index slot byte" / "z index slot") and each completed flush ("f index"),
// until the parent kills it with SIGKILL. Announcements go to a journal file with a synchronous write,
// which lands in the page cache before the operation starts and survives the kill. stdout is not fit for
// this: when the parent is slow to read, Node queues pipe writes inside this process and SIGKILL drops
// them, so the parent would miss operations that did reach the disk. stdout only says "ready".
// With a sixth argument "copy", each write's bytes are first put into a source file (at an unaligned place)
// and copied from there by the engine (VhdxDisk.apply with a 'copy' change: the write-from-file path).
// With "unbuffered", the disk is opened with unbufferedWrites and each write covers RUN consecutive slots (one
// announcement and one index per slot) in one call of pieces at unaligned addresses, large enough to go past
// the page cache from the engine's bounce buffers.
import { openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openDisk } from '../../src/vhdx/index.js';
import { prng, randomInt } from './helpers.js';

export const SLOT = 16 * 1024;
/** Slots per write in the "unbuffered" mode: 128 KiB, above the engine's smallest unbuffered write. */
const RUN = 8;

async function main(): Promise<void> {
  const [path, journalPath, startText, seedText, slotsText, mode] = process.argv.slice(2);
  const copy = mode === 'copy';
  const unbuffered = mode === 'unbuffered';
  const sourcePath = join(dirname(journalPath!), 'crash-writer.source');
  const source = copy ? openSync(sourcePath, 'w') : undefined;
  const start = Number(startText);
  const next = prng(Number(seedText));
  const slots = Number(slotsText);
  const journal = openSync(journalPath!, 'w');
  const announce = (line: string): void => {
    const bytes = Buffer.from(`${line}\n`);
    // A short write would leave a torn line in front of later ones; only a full disk could cause it.
    if (writeSync(journal, bytes) !== bytes.length) throw new Error(`a short write to the journal ${journalPath!}`);
  };
  const disk = await openDisk(path!, { writable: true, unbufferedWrites: unbuffered });
  if (unbuffered && !disk.writesUnbuffered()) throw new Error(`the file system of ${path!} takes no unbuffered writes`);
  process.stdout.write('ready\n');
  let lastFlush = start - 1;
  for (let index = start; ; index++) {
    const slot = randomInt(next, slots);
    if (randomInt(next, 10) === 0) {
      announce(`z ${index} ${slot}`);
      await disk.zero(slot * SLOT, SLOT);
    } else if (unbuffered) {
      const first = randomInt(next, slots - RUN + 1);
      const run: Buffer[] = [];
      for (let i = 0; i < RUN; i++) {
        if (i > 0) index++;
        const byte = 1 + randomInt(next, 255);
        announce(`w ${index} ${first + i} ${byte}`);
        const data = Buffer.alloc(SLOT, byte);
        data.writeUInt32LE(index, 0);
        run.push(data);
      }
      // Views of one buffer at odd places, as HTTP/2 frames hand a payload over.
      const joined = Buffer.concat(run);
      const pieces: Buffer[] = [];
      for (let at = 0; at < joined.length; at += 16393) pieces.push(joined.subarray(at, at + 16393));
      await disk.write(first * SLOT, pieces);
    } else {
      const byte = 1 + randomInt(next, 255);
      announce(`w ${index} ${slot} ${byte}`);
      const data = Buffer.alloc(SLOT, byte);
      data.writeUInt32LE(index, 0);
      if (source === undefined) {
        await disk.write(slot * SLOT, data);
      } else {
        // Unaligned in the source, as a payload after its record header in a log is.
        const at = (index % 64) * (SLOT + 56) + 7;
        if (writeSync(source, data, 0, SLOT, at) !== SLOT) throw new Error('a short write to the copy source');
        await disk.apply([{ type: 'copy', offset: slot * SLOT, length: SLOT, sourceOffset: at }], sourcePath);
      }
    }
    if (unbuffered ? index - lastFlush >= 7 : index % 7 === 6) {
      await disk.flush();
      announce(`f ${index}`);
      lastFlush = index;
    }
  }
}

if (process.argv[1]?.endsWith('crash-writer.js')) {
  main().catch((error: unknown) => {
    process.stderr.write(`crash-writer: ${String(error)}\n`);
    process.exit(1);
  });
}
