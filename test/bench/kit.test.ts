import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { benchNodeArgs } from '../../bench/replication/kit.js';
import { CLI_PATH, serverProcessArgs } from '../../src/demo/server-process.js';
import { REPLICA_SERVER_NODE_OPTIONS } from '../../src/replica/server-node-options.js';

const RESYNC_BENCH = fileURLToPath(new URL('../../bench/replication/resync.js', import.meta.url));

describe('bench kit', () => {
  it('takes extra node options for the hvreplica processes from HVR_BENCH_NODE_ARGS, none by default', () => {
    assert.deepEqual(benchNodeArgs({}), []);
    assert.deepEqual(benchNodeArgs({ HVR_BENCH_NODE_ARGS: '  ' }), []);
    assert.deepEqual(benchNodeArgs({ HVR_BENCH_NODE_ARGS: ' --cpu-prof  --cpu-prof-dir=/var/tmp/p\t--max-old-space-size=200 ' }), ['--cpu-prof', '--cpu-prof-dir=/var/tmp/p', '--max-old-space-size=200']);
  });

  it("starts the replica server with the server's node options, then the bench's (which can override them), then the CLI", () => {
    const argv = serverProcessArgs({ stateDir: '/s', nodeArgs: ['--initial-old-space-size=0'], args: ['--port=1'] });
    assert.deepEqual(argv, [...REPLICA_SERVER_NODE_OPTIONS, '--initial-old-space-size=0', CLI_PATH, 'server', 'run', '--listen-address=127.0.0.1', '--json', '--state-dir=/s', '--port=1']);
    assert.ok(REPLICA_SERVER_NODE_OPTIONS.includes('--initial-old-space-size=64'));
    assert.deepEqual(serverProcessArgs({ stateDir: '/s' }).slice(0, REPLICA_SERVER_NODE_OPTIONS.length + 1), [...REPLICA_SERVER_NODE_OPTIONS, CLI_PATH]);
  });

  it('lists its options on --help, and names a mistyped option with the list instead of a stack trace', () => {
    const help = spawnSync(process.execPath, [RESYNC_BENCH, '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /--disk-mib=VALUE {2}\(default 4096\)/);
    assert.match(help.stdout, /--cold-replica/);
    const wrong = spawnSync(process.execPath, [RESYNC_BENCH, '--disk-mb=3'], { encoding: 'utf8' });
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /Unknown option '--disk-mb'/);
    assert.match(wrong.stderr, /--disk-mib=VALUE/);
    assert.doesNotMatch(wrong.stderr, /at parseArgs/);
  });
});
