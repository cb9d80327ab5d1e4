/**
 * The workgroup pairing steps of docs/certificates.md, run for real through the CLI: a CA, two host
 * certificates, a replica server process, and Test-VMReplicationConnection from the primary.
 */
import { PROTOCOL_VERSION } from '../../src/transport/wire.js';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../replica/run-cli.js';

const BIN = fileURLToPath(new URL('../../../bin/hvreplica.js', import.meta.url));

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('workgroup pairing through the CLI', () => {
  let dir: string;
  let server: ChildProcess | undefined;
  let serverOut = '';
  let port: number;
  let primaryThumb: string;
  const replica = () => ['--state-dir', join(dir, 'replica')];
  const primary = () => ['--state-dir', join(dir, 'primary')];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hvr-pair-'));
    port = await freePort();
  });
  after(async () => {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('makes the CA and both host certificates', async () => {
    const ca = await runCli(['cert', 'new-ca', '--common-name=Lab pairing CA', `--out-dir=${join(dir, 'ca')}`]);
    assert.equal(ca.exitCode, 0, ca.stderr);
    assert.equal((ca.json.result as { IsCertificateAuthority: boolean }).IsCertificateAuthority, true);
    const again = await runCli(['cert', 'new-ca', '--common-name=Other', `--out-dir=${join(dir, 'ca')}`]);
    assert.equal(again.json.error?.code, 'ERR_ALREADY_EXISTS', 'never overwrites a CA key');
    const caArgs = [`--ca-certificate-path=${join(dir, 'ca', 'hvreplica-ca.crt')}`, `--ca-key-path=${join(dir, 'ca', 'hvreplica-ca.key')}`];

    const r = await runCli(['cert', 'new', '--dns-name=replica.lab.test', '--dns-name=localhost', ...caArgs, '--import', ...replica()]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual((r.json.result as { DnsNames: string[] }).DnsNames, ['replica.lab.test', 'localhost']);

    const p = await runCli(['cert', 'new', '--dns-name=primary.lab.test', ...caArgs, `--out-dir=${join(dir, 'to-primary')}`]);
    assert.equal(p.exitCode, 0, p.stderr);
    const imported = await runCli(['cert', 'import', `--certificate-path=${join(dir, 'to-primary', 'primary.lab.test.crt')}`, `--key-path=${join(dir, 'to-primary', 'primary.lab.test.key')}`, ...primary()]);
    primaryThumb = (imported.json.result as { Thumbprint: string }).Thumbprint;
    assert.match(primaryThumb, /^[0-9A-F]{40}$/);
    const trusted = await runCli(['cert', 'trust', `--certificate-path=${join(dir, 'ca', 'hvreplica-ca.crt')}`, ...primary()]);
    assert.equal((trusted.json.result as { Store: string }).Store, 'Root');

    const badName = await runCli(['cert', 'new', '--dns-name=not a name', ...caArgs, '--import', ...replica()]);
    assert.equal(badName.exitCode, 2);
  });

  it('enables the replica server and runs it', async () => {
    const list = await runCli(['cert', 'list', ...replica()]);
    const mine = (list.json.result as { Store: string; Thumbprint: string }[]).find((c) => c.Store === 'My')!;
    const set = await runCli(['server', 'set', '--replication-enabled=true', '--allowed-authentication-type=Certificate', `--certificate-thumbprint=${mine.Thumbprint}`, `--certificate-authentication-port=${port}`, ...replica()]);
    assert.equal(set.exitCode, 0, set.stderr);
    const add = await runCli(['auth', 'add', '--allowed-primary-server=primary.lab.test', `--replica-storage-location=${join(dir, 'storage')}`, '--trust-group=lab', ...replica()]);
    assert.equal(add.exitCode, 0);

    server = spawn(process.execPath, [BIN, 'server', 'run', '--listen-address=127.0.0.1', '--json', ...replica()], { env: { ...process.env, HVR_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (d: Buffer) => (serverOut += d.toString()));
    await new Promise<void>((resolve, reject) => {
      let err = '';
      server!.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('replica server listening')) resolve();
      });
      server!.once('exit', (code) => reject(new Error(`server run exited with ${code}: ${err}`)));
    });
    const get = await runCli(['server', 'get', ...replica()]);
    assert.deepEqual((get.json.result as { OperationalStatus: string[] }).OperationalStatus, ['Ok']);
  });

  it('connection test succeeds for the authorized primary and names the trust group', async () => {
    const run = await runCli(['connection', 'test', '--replica-server-name=localhost', `--replica-server-port=${port}`, '--authentication-type=Certificate', `--certificate-thumbprint=${primaryThumb}`, ...primary()]);
    assert.equal(run.exitCode, 0, JSON.stringify(run.json));
    assert.deepEqual(run.json.result, { ReplicaServerName: 'localhost', ReplicaServerPort: port, AuthenticationType: 'Certificate', PrimaryServerName: 'primary.lab.test', TrustGroup: 'lab', ProtocolVersion: PROTOCOL_VERSION });
  });

  it('connection test fails clearly: unauthorized host, IP name, Kerberos, missing thumbprint, nothing listening', async () => {
    const list = await runCli(['cert', 'list', ...replica()]);
    const replicaThumb = (list.json.result as { Store: string; Thumbprint: string }[]).find((c) => c.Store === 'My')!.Thumbprint;
    const common = [`--replica-server-port=${port}`, '--authentication-type=Certificate'];
    const unauthorized = await runCli(['connection', 'test', '--replica-server-name=localhost', ...common, `--certificate-thumbprint=${replicaThumb}`, ...replica()]);
    assert.equal(unauthorized.exitCode, 5);
    assert.equal(unauthorized.json.error?.code, 'ERR_UNAUTHORIZED');
    const ip = await runCli(['connection', 'test', '--replica-server-name=127.0.0.1', ...common, `--certificate-thumbprint=${primaryThumb}`, ...primary()]);
    assert.equal(ip.exitCode, 2);
    const kerberos = await runCli(['connection', 'test', '--replica-server-name=localhost', `--replica-server-port=${port}`, '--authentication-type=Kerberos', ...primary()]);
    assert.equal(kerberos.exitCode, 7);
    const noThumb = await runCli(['connection', 'test', '--replica-server-name=localhost', ...common, ...primary()]);
    assert.equal(noThumb.exitCode, 2);
    const closed = await runCli(['connection', 'test', '--replica-server-name=localhost', `--replica-server-port=${await freePort()}`, '--authentication-type=Certificate', `--certificate-thumbprint=${primaryThumb}`, ...primary()]);
    assert.equal(closed.exitCode, 1);
    assert.equal(closed.json.error?.code, 'ERR_CONNECTION');
  });

  it('server run stops on SIGTERM and reports', async () => {
    const exited = new Promise<number | null>((resolve) => server!.once('exit', (code) => resolve(code)));
    server!.kill('SIGTERM');
    assert.equal(await exited, 0);
    const report = JSON.parse(serverOut.trim()) as { ok: boolean; result: { Port: number } };
    assert.equal(report.ok, true);
    assert.equal(report.result.Port, port);
    const get = await runCli(['server', 'get', ...replica()]);
    assert.deepEqual((get.json.result as { OperationalStatus: string[] }).OperationalStatus, ['Stopped']);
  });
});
