// Child process of reparent.test.ts: flips a differencing layer between two parents that show the same
// content (argv: child, parentA, parentB), announcing each finished switch ("r N"), until it is killed.
import { reparentDisk } from '../../src/vhdx/index.js';

async function main(): Promise<void> {
  const [child, a, b] = process.argv.slice(2);
  process.stdout.write('ready\n');
  for (let n = 0; ; n++) {
    await reparentDisk(child!, n % 2 === 0 ? a! : b!);
    process.stdout.write(`r ${n}\n`);
  }
}

if (process.argv[1]?.endsWith('crash-reparenter.js')) {
  main().catch((error: unknown) => {
    process.stderr.write(`crash-reparenter: ${String(error)}\n`);
    process.exit(1);
  });
}
