// `hvreplica disk …` end to end in a child process, as administrators and the PowerShell module run it:
// the --json shapes, exit codes, and round trips through convert checked by qemu-img.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { MiB, prng, realSample, requireTool, runStatus, scratch } from './helpers.js';

describe('hvreplica disk', () => {
  const dir = scratch('cli');
  after(() => dir.cleanup());
  const p = (name: string) => join(dir.path, name);

  it('create, info, map and check with --json', () => {
    const created = runCli(['disk', 'create', p('a.vhdx'), '--size=32M', '--block-size=2M', '--json']);
    assert.equal(created.status, 0, created.stderr);
    const info = created.json!.result as { type: string; virtualSize: number; blockSize: number; chain: string[] };
    assert.equal(info.type, 'dynamic');
    assert.equal(info.virtualSize, 32 * MiB);
    assert.equal(info.blockSize, 2 * MiB);
    const child = runCli(['disk', 'create', p('b.avhdx'), '--type=differencing', `--parent=${p('a.vhdx')}`, '--json']);
    assert.equal(child.status, 0, child.stderr);
    const shown = runCli(['disk', 'info', p('b.avhdx'), '--json']);
    const r = shown.json!.result as { type: string; chain: string[]; parentPath: string; parentLocator: { relativePath: string } };
    assert.equal(r.type, 'differencing');
    assert.deepEqual(r.chain, [p('b.avhdx'), p('a.vhdx')]);
    assert.equal(r.parentLocator.relativePath, '.\\a.vhdx');
    const map = runCli(['disk', 'map', p('b.avhdx'), '--layer-only', '--json']);
    assert.deepEqual(map.json!.result, { virtualSize: 32 * MiB, layerOnly: true, extents: [{ offset: 0, length: 32 * MiB, state: 'absent' }] });
    const check = runCli(['disk', 'check', p('a.vhdx'), '--json']);
    assert.equal(check.status, 0);
    assert.deepEqual((check.json!.result as { errors: string[] }).errors, []);
  });

  it('convert raw → vhdx → raw round-trips, qemu-img agrees, compare reports differences', () => {
    requireTool('qemu-img');
    const next = prng(5);
    const raw = Buffer.alloc(9 * MiB);
    for (let k = 0; k < 30; k++) raw.fill(1 + Math.floor(next() * 255), Math.floor(next() * 8 * MiB), Math.floor(next() * 8 * MiB) + 100_000);
    writeFileSync(p('in.raw'), raw);
    const conv = runCli(['disk', 'convert', p('in.raw'), p('c.vhdx'), '--block-size=1M', '--json']);
    assert.equal(conv.status, 0, conv.stderr);
    assert.equal((conv.json!.result as { format: string }).format, 'vhdx');
    const qcmp = runStatus('qemu-img', ['compare', '-f', 'raw', '-F', 'vhdx', p('in.raw'), p('c.vhdx')]);
    assert.equal(qcmp.status, 0, qcmp.out);
    assert.equal(runCli(['disk', 'convert', p('c.vhdx'), p('out.raw')]).status, 0);
    assert.ok(readFileSync(p('out.raw')).equals(raw));
    const same = runCli(['disk', 'compare', p('in.raw'), p('c.vhdx'), '--json']);
    assert.equal(same.status, 0);
    assert.deepEqual(same.json!.result, { identical: true, firstDifference: null, sizes: [9 * MiB, 9 * MiB] });
    raw[5 * MiB + 3] ^= 0xff;
    writeFileSync(p('in2.raw'), raw);
    const diff = runCli(['disk', 'compare', p('c.vhdx'), p('in2.raw'), '--json']);
    assert.equal(diff.status, 1);
    assert.equal((diff.json!.result as { firstDifference: number }).firstDifference, 5 * MiB + 3);
  });

  it('merge through the CLI, and typed errors with exit codes', async () => {
    assert.equal(runCli(['disk', 'create', p('m.vhdx'), '--size=8M', '--block-size=1M']).status, 0);
    assert.equal(runCli(['disk', 'create', p('m1.avhdx'), '--type=differencing', `--parent=${p('m.vhdx')}`]).status, 0);
    const merged = runCli(['disk', 'merge', p('m1.avhdx'), '--json']);
    assert.equal(merged.status, 0, merged.stderr);
    assert.equal((merged.json!.result as { parent: string }).parent, p('m.vhdx'));
    const missing = runCli(['disk', 'info', p('none.vhdx'), '--json']);
    assert.equal(missing.status, 3);
    assert.equal(missing.json!.error!.code, 'ERR_NOT_FOUND');
    const bad = runCli(['disk', 'create', p('x.vhdx'), '--size=banana', '--json']);
    assert.equal(bad.status, 2);
    const orphan = await realSample('differencing.avhdx', dir.path);
    const noParent = runCli(['disk', 'info', orphan, '--json']);
    assert.equal(noParent.status, 1);
    assert.equal(noParent.json!.error!.code, 'ERR_VHDX_PARENT_NOT_FOUND');
    writeFileSync(p('junk.vhdx'), Buffer.alloc(2 * MiB, 9));
    const junk = runCli(['disk', 'check', p('junk.vhdx'), '--json']);
    assert.equal(junk.status, 1);
    assert.equal((junk.json!.result as { ok: boolean }).ok, false);
  });
});
