import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benchNodeArgs } from '../../bench/replication/kit.js';

describe('bench kit', () => {
  it('takes extra node options for the hvreplica processes from HVR_BENCH_NODE_ARGS, none by default', () => {
    assert.deepEqual(benchNodeArgs({}), []);
    assert.deepEqual(benchNodeArgs({ HVR_BENCH_NODE_ARGS: '  ' }), []);
    assert.deepEqual(benchNodeArgs({ HVR_BENCH_NODE_ARGS: ' --cpu-prof  --cpu-prof-dir=/var/tmp/p\t--max-old-space-size=200 ' }), ['--cpu-prof', '--cpu-prof-dir=/var/tmp/p', '--max-old-space-size=200']);
  });
});
