/**
 * `service` and `task`: the exact sc.exe / reg.exe / schtasks.exe command lines (Windows) and systemd
 * units (Linux), their error mapping, and the CLI's JSON shapes from docs/cli-contract.md §3.12–3.13.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { installService, uninstallService } from '../../src/cli/commands/service/impl.js';
import { spawnSync } from 'node:child_process';
import { EVENT_MESSAGE_FILE, installPlan, roleNodeOptions, uninstallPlan, windowsCommandLine } from '../../src/cli/commands/service/plan.js';
import { REPLICA_SERVER_NODE_OPTIONS } from '../../src/replica/server-node-options.js';
import { AGENT_NODE_OPTIONS } from '../../src/agent/agent-node-options.js';
import { runPlan, type StepRunner } from '../../src/cli/commands/service/runner.js';
import { registerTask, unregisterTask } from '../../src/cli/commands/task/impl.js';
import { registerPlan, unregisterPlan } from '../../src/cli/commands/task/plan.js';
import { runCli } from '../helpers/cli.js';

const win = {
  platform: 'win32' as const,
  nodePath: 'C:\\Program Files\\nodejs\\node.exe',
  cliPath: 'C:\\Program Files\\hvreplica\\bin\\hvreplica.js',
  stateDir: 'C:\\ProgramData\\hvreplica',
};
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('service install on Windows creates an auto-start service that runs "service run", registers the event source, starts it', () => {
  const plan = installPlan('agent', 'hvreplica-agent', win);
  assert.equal(plan.manager, 'WindowsService');
  const [create, description, failure, eventFile, eventTypes, start] = plan.steps;
  assert.deepEqual(create!.args.slice(0, 3), ['create', 'hvreplica-agent', 'binPath=']);
  assert.equal(
    create!.args[3],
    '"C:\\Program Files\\nodejs\\node.exe" "C:\\Program Files\\hvreplica\\bin\\hvreplica.js" service run --role=agent --service-name=hvreplica-agent --state-dir=C:\\ProgramData\\hvreplica',
  );
  assert.deepEqual(create!.args.slice(4), ['start=', 'auto', 'DisplayName=', 'hvreplica agent']);
  assert.equal(description!.args[0], 'description');
  assert.deepEqual(failure!.args, ['failure', 'hvreplica-agent', 'reset=', '86400', 'actions=', 'restart/60000/restart/60000/restart/300000']);
  assert.deepEqual(eventFile!.args, ['add', 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\hvreplica-agent', '/v', 'EventMessageFile', '/t', 'REG_EXPAND_SZ', '/d', EVENT_MESSAGE_FILE, '/f']);
  assert.equal(eventTypes!.file, 'reg.exe');
  assert.deepEqual(start!.args, ['start', 'hvreplica-agent']);
  assert.throws(() => installPlan('agent', 'bad name"', win), /must be 1–80 letters/);
});

test("each role's systemd unit gives node that role's heap options before the CLI", () => {
  const linux = { platform: 'linux' as const, nodePath: '/usr/bin/node', cliPath: '/opt/hvreplica/bin/hvreplica.js', stateDir: '/var/lib/hvreplica', systemdDir: '/units' };
  const server = installPlan('replica-server', 'hvreplica-replica-server', linux).files[0]!.content;
  assert.match(server, /^ExecStart=\/usr\/bin\/node --initial-old-space-size=64 --max-semi-space-size=8 \/opt\/hvreplica\/bin\/hvreplica.js server run --state-dir=\/var\/lib\/hvreplica$/m);
  const agent = installPlan('agent', 'hvreplica-agent', linux).files[0]!.content;
  assert.match(agent, /^ExecStart=\/usr\/bin\/node --initial-old-space-size=64 --max-semi-space-size=8 \/opt\/hvreplica\/bin\/hvreplica.js agent run --state-dir=\/var\/lib\/hvreplica$/m);
  assert.deepEqual(roleNodeOptions('replica-server'), [...REPLICA_SERVER_NODE_OPTIONS]);
  assert.deepEqual(roleNodeOptions('agent'), [...AGENT_NODE_OPTIONS]);
});

test("this node accepts the replica server's and the agent's options (a refused one would keep the service from starting)", () => {
  for (const options of [REPLICA_SERVER_NODE_OPTIONS, AGENT_NODE_OPTIONS]) {
    const run = spawnSync(process.execPath, [...options, '-e', "process.stdout.write('started')"], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'started');
  }
});

test('service uninstall is idempotent: a stopped or missing service is fine', () => {
  const plan = uninstallPlan('hvreplica-replica-server', win);
  assert.deepEqual(plan.steps.map((s) => [s.file, s.args[0], s.okCodes]), [
    ['sc.exe', 'stop', [1062, 1060]],
    ['sc.exe', 'delete', [1060]],
    ['reg.exe', 'delete', [1]],
  ]);
});

test('install/uninstall run the plan and report the contract shape; sc.exe errors are explained', async () => {
  const seen: string[] = [];
  const ok: StepRunner = async (step) => {
    seen.push(`${step.file} ${step.args[0]}`);
    return { code: 0, output: '' };
  };
  const stateDir = mkdtempSync(join(tmpdir(), 'hvr-svc-'));
  dirs.push(stateDir);
  process.env.HVR_SYSTEMD_DIR = join(stateDir, 'units');
  const args = { json: true, 'state-dir': stateDir, role: 'replica-server' as const };
  const installed = await installService(args, ok);
  const manager = process.platform === 'win32' ? 'WindowsService' : 'Systemd';
  assert.deepEqual(installed.data, { ServiceName: 'hvreplica-replica-server', Role: 'replica-server', Manager: manager, Status: 'Running' });
  if (manager === 'Systemd') {
    const unit = readFileSync(join(stateDir, 'units', 'hvreplica-replica-server.service'), 'utf8');
    assert.match(unit, /^ExecStart=.* server run --state-dir=/m);
    assert.deepEqual(seen, ['systemctl daemon-reload', 'systemctl enable']);
  }
  const removed = await uninstallService(args, ok);
  assert.equal(removed.data.Status, 'Removed');
  assert.equal(existsSync(join(stateDir, 'units', 'hvreplica-replica-server.service')), false);
  delete process.env.HVR_SYSTEMD_DIR;
});

test('Windows error codes from sc.exe become actionable errors', async () => {
  const { runPlan } = await import('../../src/cli/commands/service/runner.js');
  const denied: StepRunner = async () => ({ code: 5, output: '[SC] OpenSCManager FAILED 5:\r\n\r\nAccess is denied.\r\n' });
  await assert.rejects(runPlan(installPlan('agent', 'hvreplica-agent', win), denied), (e: any) => e.code === 'ERR_ACCESS_DENIED' && /elevated prompt/.test(e.message));
  const exists: StepRunner = async () => ({ code: 1073, output: '[SC] CreateService FAILED 1073:\r\n\r\nThe specified service already exists.' });
  await assert.rejects(runPlan(installPlan('agent', 'hvreplica-agent', win), exists), (e: any) => e.code === 'ERR_ALREADY_EXISTS' && /uninstall/.test(e.message));
  let calls = 0;
  const notStarted: StepRunner = async () => ({ code: calls++ === 0 ? 1062 : 0, output: '' });
  await runPlan(uninstallPlan('hvreplica-agent', win), notStarted);
  assert.equal(calls, 3);
});

test('task register on Windows: schtasks every 5 or 15 minutes as SYSTEM', () => {
  const plan = registerPlan('web 01', 300, 'hvreplica-replicate-web_01', win);
  assert.equal(plan.scheduler, 'TaskScheduler');
  assert.equal(plan.command, windowsCommandLine([win.nodePath, win.cliPath, 'replicate', '--vm=web 01', `--state-dir=${win.stateDir}`]));
  assert.deepEqual(plan.steps[0]!.args, [
    '/Create', '/F', '/TN', '\\hvreplica\\hvreplica-replicate-web_01', '/TR', plan.command, '/SC', 'MINUTE', '/MO', '5', '/RU', 'SYSTEM', '/RL', 'HIGHEST',
  ]);
  assert.equal(registerPlan('db', 900, 't', win).steps[0]!.args[9], '15');
  assert.deepEqual(unregisterPlan('t', win).steps[0]!.args, ['/Delete', '/F', '/TN', '\\hvreplica\\t']);
});

test('task register on Windows every 30 s: one task, two triggers 30 s apart repeating every minute, from UTF-16 XML', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'hvr-task30-'));
  dirs.push(stateDir);
  const ctx = { ...win, stateDir };
  const plan = registerPlan('web & <01>', 30, 'hvreplica-replicate-web01', ctx);
  const xmlPath = join(stateDir, 'tasks', 'hvreplica-replicate-web01.xml');
  assert.deepEqual(plan.steps.map((s) => [s.file, ...s.args]), [['schtasks.exe', '/Create', '/F', '/TN', '\\hvreplica\\hvreplica-replicate-web01', '/XML', xmlPath]]);
  assert.equal(plan.command, windowsCommandLine([win.nodePath, win.cliPath, 'replicate', '--vm=web & <01>', `--state-dir=${stateDir}`]));
  const seen: string[][] = [];
  await runPlan(plan, async (s) => (seen.push(s.args), { code: 0, output: '' }));
  const raw = readFileSync(xmlPath);
  assert.deepEqual([...raw.subarray(0, 2)], [0xff, 0xfe], 'UTF-16LE with its byte-order mark');
  const xml = raw.subarray(2).toString('utf16le');
  assert.match(xml, /^<\?xml version="1.0" encoding="UTF-16"\?>/);
  const triggers = [...xml.matchAll(/<TimeTrigger>[\s\S]*?<Interval>(PT\w+)<\/Interval>[\s\S]*?<StartBoundary>([^<]+)<\/StartBoundary>/g)].map((m) => [m[1], m[2]]);
  assert.deepEqual(triggers, [['PT1M', '2000-01-01T00:00:00'], ['PT1M', '2000-01-01T00:00:30']]);
  assert.match(xml, /<UserId>S-1-5-18<\/UserId><RunLevel>HighestAvailable<\/RunLevel>/);
  assert.match(xml, /<MultipleInstancesPolicy>IgnoreNew<\/MultipleInstancesPolicy>/);
  assert.match(xml, /<Command>C:\\Program Files\\nodejs\\node.exe<\/Command>/);
  assert.match(xml, /--vm=web &amp; &lt;01&gt;/, 'the VM name is escaped in the XML');
  // Unregistering removes the task and the XML it was imported from.
  const unreg = unregisterPlan('hvreplica-replicate-web01', ctx);
  assert.deepEqual(unreg.removeFiles, [xmlPath]);
  await runPlan(unreg, async () => ({ code: 0, output: '' }));
  assert.equal(existsSync(xmlPath), false);
});

test('task register on Linux writes a oneshot service and a timer at the interval', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'hvr-task-'));
  dirs.push(stateDir);
  const ctx = { platform: 'linux' as const, nodePath: '/usr/bin/node', cliPath: '/opt/hvreplica/bin/hvreplica.js', stateDir, systemdDir: join(stateDir, 'units') };
  const plan = registerPlan('web01', 30, 'hvreplica-replicate-web01', ctx);
  assert.equal(plan.scheduler, 'SystemdTimer');
  assert.match(plan.files[1]!.content, /OnUnitActiveSec=30s/);
  assert.match(plan.files[0]!.content, /Type=oneshot\nExecStart=\/usr\/bin\/node \/opt\/hvreplica\/bin\/hvreplica.js replicate --vm=web01/);
  if (process.platform !== 'win32') {
    process.env.HVR_SYSTEMD_DIR = ctx.systemdDir;
    const seen: string[][] = [];
    const run: StepRunner = async (s) => (seen.push(s.args), { code: 0, output: '' });
    const reg = await registerTask({ json: true, 'state-dir': stateDir, 'vm-name': 'web01', 'interval-sec': 900 }, run);
    assert.deepEqual(Object.keys(reg.data[0]!).sort(), ['Command', 'IntervalSec', 'Scheduler', 'Status', 'TaskName', 'VMName']);
    assert.equal(reg.data[0]!.Status, 'Registered');
    assert.equal(reg.data[0]!.IntervalSec, 900);
    assert.ok(existsSync(join(ctx.systemdDir, 'hvreplica-replicate-web01.timer')));
    const unreg = await unregisterTask({ json: true, 'state-dir': stateDir, 'vm-name': 'web01' }, run);
    assert.deepEqual(unreg.data[0], { TaskName: 'hvreplica-replicate-web01', VMName: 'web01', IntervalSec: null, Command: null, Scheduler: 'SystemdTimer', Status: 'Removed' });
    assert.equal(existsSync(join(ctx.systemdDir, 'hvreplica-replicate-web01.timer')), false);
    delete process.env.HVR_SYSTEMD_DIR;
  }
});

test('the CLI knows the nouns and validates their options', () => {
  const help = runCli(['service', '--help']);
  assert.match(help.stdout, /service install/);
  assert.match(help.stdout, /service uninstall/);
  const bad = runCli(['task', 'register', '--vm-name=web01', '--interval-sec=60', '--json']);
  assert.equal(bad.status, 2);
  const missing = runCli(['service', 'install', '--json']);
  assert.equal(missing.status, 2);
});
