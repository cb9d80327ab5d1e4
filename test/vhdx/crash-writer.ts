// Child process of crash.test.ts: writes whole 16 KiB slots through the engine forever, announcing each
// operation before it starts ("w index slot byte" / "z index slot") and each completed flush ("f index"),
// until the parent kills it with SIGKILL. stdout is a pipe, which Node writes synchronously on Linux,
// so every announced line reaches the parent even when the kill follows at once.
import { openDisk } from '../../src/vhdx/index.js';
import { prng, randomInt } from './helpers.js';

export const SLOT = 16 * 1024;

async function main(): Promise<void> {
  const [path, startText, seedText, slotsText] = process.argv.slice(2);
  const start = Number(startText);
  const next = prng(Number(seedText));
  const slots = Number(slotsText);
  const disk = await openDisk(path!, { writable: true });
  process.stdout.write('ready\n');
  for (let index = start; ; index++) {
    const slot = randomInt(next, slots);
    if (randomInt(next, 10) === 0) {
      process.stdout.write(`z ${index} ${slot}\n`);
      await disk.zero(slot * SLOT, SLOT);
    } else {
      const byte = 1 + randomInt(next, 255);
      process.stdout.write(`w ${index} ${slot} ${byte}\n`);
      const data = Buffer.alloc(SLOT, byte);
      data.writeUInt32LE(index, 0);
      await disk.write(slot * SLOT, data);
    }
    if (index % 7 === 6) {
      await disk.flush();
      process.stdout.write(`f ${index}\n`);
    }
  }
}

if (process.argv[1]?.endsWith('crash-writer.js')) {
  main().catch((error: unknown) => {
    process.stderr.write(`crash-writer: ${String(error)}\n`);
    process.exit(1);
  });
}
