/**
 * `hvreplica vm …` and `hvreplica workload` through the real CLI, in child processes: the JSON shapes,
 * exit codes, and a workload process that keeps writing while this process takes reference points
 * (the cross-process side of the VM lock).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileHost } from '../../src/host/file/file-host.js';
import { workloadData, type JournalEntry, type WorkloadReport } from '../../src/host/file/workload.js';
import type { VmDescription, VmSummary } from '../../src/host/host-adapter.js';
import { runCli } from '../helpers/cli.js';
import { cliPath, tempDir } from '../helpers/paths.js';
import { ContentModel } from '../tracking/content-model.js';

const MiB = 1024 * 1024;

describe('hvreplica vm and workload', () => {
  const dir = tempDir('vm-cli');
  const root = join(dir.path, 'vms');
  const vm = (...args: string[]) => runCli(['vm', ...args, '--vm-root', root, '--json']);
  after(() => dir.cleanup());

  it('creates, lists, shows, starts, stops and removes a VM', () => {
    const created = vm('new', '--name', 'web01', '--disk', '8GiB', '--disk', '2GiB');
    assert.equal(created.status, 0, created.stderr);
    const description = created.json!.result as VmDescription;
    assert.deepEqual(description.disks.map((d) => [d.id, d.virtualSize]), [['disk0', 8 * 1024 * MiB], ['disk1', 2 * 1024 * MiB]]);
    assert.equal(description.state, 'off');
    assert.equal((vm('list').json!.result as { vms: VmSummary[] }).vms.map((v) => v.name).join(), 'web01');
    assert.equal((vm('show', 'web01').json!.result as VmDescription).id, description.id);
    assert.equal((vm('start', 'web01').json!.result as VmSummary).state, 'running');
    const refused = vm('remove', 'web01');
    assert.equal(refused.status, 4);
    assert.equal(refused.json!.error!.code, 'ERR_INVALID_STATE');
    assert.equal((vm('stop', 'web01').json!.result as VmSummary).state, 'off');
    assert.equal(vm('remove', 'web01').status, 0);
    assert.equal(vm('show', 'web01').status, 3);
  });

  it('refuses bad input with a message that says what to do', () => {
    const badName = vm('new', '--name', '../evil', '--disk', '1GiB');
    assert.equal(badName.status, 2);
    assert.match(badName.json!.error!.message, /not valid: use 1-63 letters/);
    const badSize = vm('new', '--name', 'x1', '--disk', '12345');
    assert.equal(badSize.status, 2);
    assert.match(badSize.json!.error!.message, /whole number of MiB/);
    assert.equal(vm('new', '--name', 'dup', '--disk', '64MiB').status, 0);
    assert.equal(vm('new', '--name', 'dup', '--disk', '64MiB').json!.error!.code, 'ERR_ALREADY_EXISTS');
    const stopped = runCli(['workload', '--vm', 'dup', '--count', '5', '--vm-root', root, '--json']);
    assert.equal(stopped.json!.ok, true);
    assert.equal((stopped.json!.result as WorkloadReport).stoppedBecause, 'vm-stopped');
  });

  it('keeps writing from another process while reference points are taken', async () => {
    assert.equal(vm('new', '--name', 'db01', '--disk', '32MiB', '--block-size', '1MiB').status, 0);
    assert.equal(vm('start', 'db01').status, 0);
    const journal = join(dir.path, 'db01.jsonl');
    const child = spawn(process.execPath, [cliPath, 'workload', '--vm', 'db01', '--vm-root', root, '--seed', '99', '--batch', '2',
      '--min-size', '512', '--max-size', '64KiB', '--zero-share', '0.1', '--trim-share', '0.05', '--journal', journal, '--json'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    const lines = (): JournalEntry[] => {
      try {
        // The writer may be mid-line: only whole lines count.
        return readFileSync(journal, 'utf8').split('\n').slice(0, -1).map((l) => JSON.parse(l) as JournalEntry);
      } catch {
        return [];
      }
    };
    const waitFor = async (n: number): Promise<void> => {
      while (lines().length < n) {
        if (child.exitCode !== null) throw new Error(`workload exited early: ${stdout}`);
        await sleep(10);
      }
    };
    const host = new FileHost({ root });
    await waitFor(30);
    const point = await host.createReferencePoint('db01');
    const newLayer = (await host.getVm('db01')).disks[0]!.currentPath.split('/').pop()!;
    const atPoint = lines().length;
    await waitFor(atPoint + 30);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    const report = JSON.parse(stdout).result as WorkloadReport;
    assert.equal(report.stoppedBecause, 'aborted');
    const entries = lines();
    assert.equal(report.writes, entries.length);
    const firstAfter = entries.findIndex((e) => e.layer === newLayer);
    assert.ok(firstAfter > 0, 'writes went on into the new layer');
    assert.ok(entries.slice(firstAfter).every((e) => e.layer === newLayer), 'nothing landed in the frozen layer after the point');
    const expected = new ContentModel(32 * MiB);
    for (const e of entries.slice(0, firstAfter)) expected.write(e.offset, e.op === 'write' ? workloadData(e.length, e.dataSeed!) : Buffer.alloc(e.length));
    const image = await host.openDiskAt('db01', point.id, 'disk0');
    try {
      assert.ok((await image.read(0, 32 * MiB)).equals(expected.read(0, 32 * MiB)), 'the frozen image is the content at the point');
    } finally {
      await image.close();
    }
  });
});
