// Child process of crash.test.ts: writes whole 16 KiB slots through the engine forever, announcing each
// operation before it starts ("w index slot byte" / "z index slot") and each completed flush ("f index"),
// until the parent kills it with SIGKILL. Announcements go to a journal file with a synchronous write,
// which lands in the page cache before the operation starts and survives the kill. stdout is not fit for
// this: when the parent is slow to read, Node queues pipe writes inside this process and SIGKILL drops
// them, so the parent would miss operations that did reach the disk. stdout only says "ready".
// With a sixth argument "copy", each write's bytes are first put into a source file (at an unaligned place)
// and copied from there by the engine (VhdxDisk.apply with a 'copy' change: the write-from-file path).
import { openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openDisk } from '../../src/vhdx/index.js';
import { prng, randomInt } from './helpers.js';

export const SLOT = 16 * 1024;

async function main(): Promise<void> {
  const [path, journalPath, startText, seedText, slotsText, mode] = process.argv.slice(2);
  const copy = mode === 'copy';
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
  const disk = await openDisk(path!, { writable: true });
  process.stdout.write('ready\n');
  for (let index = start; ; index++) {
    const slot = randomInt(next, slots);
    if (randomInt(next, 10) === 0) {
      announce(`z ${index} ${slot}`);
      await disk.zero(slot * SLOT, SLOT);
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
    if (index % 7 === 6) {
      await disk.flush();
      announce(`f ${index}`);
    }
  }
}

if (process.argv[1]?.endsWith('crash-writer.js')) {
  main().catch((error: unknown) => {
    process.stderr.write(`crash-writer: ${String(error)}\n`);
    process.exit(1);
  });
}
