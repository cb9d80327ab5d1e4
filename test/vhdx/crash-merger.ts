// Child process of crash.test.ts: merges a differencing layer into its parent until it is killed.
import { mergeDisk } from '../../src/vhdx/index.js';

if (process.argv[1]?.endsWith('crash-merger.js')) {
  process.stdout.write('ready\n');
  mergeDisk(process.argv[2]!).then(
    () => process.stdout.write('done\n'),
    (error: unknown) => {
      process.stderr.write(`crash-merger: ${String(error)}\n`);
      process.exit(1);
    },
  );
}
