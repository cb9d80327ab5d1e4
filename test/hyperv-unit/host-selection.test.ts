/** Which host adapter the replication commands use: Hyper-V on Windows, the file host elsewhere or when asked. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { localSite } from '../../src/cli/commands/failover/select.js';
import { hostKindFor, openHostAdapter } from '../../src/cli/commands/replication/host.js';
import { FileHost } from '../../src/host/file/file-host.js';
import { HyperVHost } from '../../src/host/hyperv/hyperv-host.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';

const dir = tempDir('host-selection');
after(() => rmSync(dir.path, { recursive: true, force: true }));
const args = { json: true, 'state-dir': dir.path } as Parameters<typeof hostKindFor>[0];
const code = (c: string, message: RegExp) => (e: unknown): boolean => {
  assert.equal((e as { code?: string }).code, c);
  assert.match((e as Error).message, message);
  return true;
};

test('Windows gets the Hyper-V adapter, other platforms the file host; --vm-root and HVR_HOST=file choose the file host', () => {
  assert.equal(hostKindFor(args, 'win32', {}), 'hyperv');
  assert.equal(hostKindFor(args, 'linux', {}), 'file');
  assert.equal(hostKindFor({ ...args, 'vm-root': 'D:\\vms' }, 'win32', {}), 'file');
  assert.equal(hostKindFor(args, 'win32', { HVR_HOST: 'file' }), 'file');
  assert.equal(hostKindFor(args, 'win32', { HVR_HOST: ' HyperV ' }), 'hyperv');
  assert.equal(hostKindFor(args, 'linux', { HVR_HOST: '' }), 'file');
});

test('asking for Hyper-V off Windows, an unknown kind, or Hyper-V with --vm-root is refused with what to do', () => {
  assert.throws(() => hostKindFor(args, 'linux', { HVR_HOST: 'hyperv' }), code('ERR_NOT_SUPPORTED', /needs Windows with the Hyper-V role, and this host runs linux.*HVR_HOST=file/));
  assert.throws(() => hostKindFor(args, 'win32', { HVR_HOST: 'vmware' }), code('ERR_USAGE', /HVR_HOST='vmware' is not a host kind/));
  assert.throws(() => hostKindFor({ ...args, 'vm-root': '/vms' }, 'win32', { HVR_HOST: 'hyperv' }), code('ERR_USAGE', /--vm-root .* cannot be used with HVR_HOST=hyperv/));
});

test('the adapter matches the choice on this platform, for the failover commands\' site too', () => {
  const adapter = openHostAdapter(args);
  const site = localSite(dir.path);
  if (process.platform === 'win32') {
    assert.ok(adapter instanceof HyperVHost);
    assert.ok(site.host instanceof HyperVHost, 'a failover on Windows goes through the Hyper-V adapter');
  } else {
    assert.ok(adapter instanceof FileHost);
    assert.ok(site.host instanceof FileHost);
  }
  const elsewhere = localSite(dir.path, '/srv/vms');
  assert.ok(elsewhere.host instanceof FileHost && elsewhere.host.root === '/srv/vms', '--vm-root picks the file host there');
});

const onWindows = process.platform === 'win32' ? 'HVR_HOST=hyperv is the valid choice on Windows' : false;
test('the CLI reports a refused host choice with exit code 7 before doing any work', { skip: onWindows }, () => {
  const run = runCli(['replicate', '--vm=web01', '--json', `--state-dir=${dir.path}`], { HVR_HOST: 'hyperv' });
  assert.equal(run.status, 7, run.stdout + run.stderr);
  assert.equal(run.json?.error?.code, 'ERR_NOT_SUPPORTED');
  assert.match(run.json?.error?.message ?? '', /Hyper-V host adapter needs Windows/);
});

test('failover and replication commands refuse the same host choice: failover start with HVR_HOST=hyperv off Windows', { skip: onWindows }, () => {
  const run = runCli(['failover', 'start', '--vm-name=web01', '--json', `--state-dir=${dir.path}`], { HVR_HOST: 'hyperv' });
  assert.equal(run.status, 7, run.stdout + run.stderr);
  assert.match(run.json?.error?.message ?? '', /Hyper-V host adapter needs Windows/);
});
